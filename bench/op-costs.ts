import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import type { Socket } from 'socket.io-client';
import { call, createRoom, guest, join, pool, registerHost, type Session } from './lib/api';
import { attachedSocket } from './lib/client';
import { runOnCluster, type ServerNode } from './lib/processes';
import { benchDatabaseUrl, benchRedisUrl } from './lib/services';
import { startSocketLoad } from './lib/socket-load';

/**
 * `npm run build && npx tsx bench/op-costs.ts [--nodes=2] [--adapter=redis-sharded] [--quick]`:
 * what each operation of a participant's visit costs, for docs/capacity.md. One step per kind of
 * operation (guest sign-in, create, the host's first join, a guest's join, socket connect and
 * attach, an idle attached socket, an audio level, a speaker change, a signal, disconnect,
 * leave, end), each run as a batch, 8 at a time. Per operation:
 * - node CPU (all nodes together, from /proc), less their idle rate;
 * - Redis commands (INFO commandstats: script-internal ones included), of which PUBLISH and
 *   SPUBLISH, and Redis CPU (INFO cpu: main thread and background threads), less the idle rate;
 * - PostgreSQL transactions (pg_stat_database, read 11 s after the step, when every backend has
 *   reported) and the CPU of the bench database's backends (from /proc; not the WAL writer's).
 * With --nodes=2 every request and socket of a room (after the host's first join) goes to the node
 * that does not run it, so each room command is forwarded to the room's node, as behind a load
 * balancer in a large cluster. Other work on the machine moves the CPU figures: run it 2–3 times.
 */
const args = process.argv.slice(2);
const option = (name: string, fallback: string) =>
  args
    .find((arg) => arg.startsWith(`--${name}=`))
    ?.split('=')
    .at(1) ?? fallback;
const quick = args.includes('--quick');
const nodeCount = Number(option('nodes', '1'));
const adapter = option('adapter', 'redis');
const guests = quick ? 600 : 2_000;
const perRoom = 10;
const rooms = guests / perRoom;
const idleSeconds = quick ? 10 : 30;
/** PostgreSQL backends report their counts up to 10 s after going idle. */
const statsSettleMs = 11_000;

interface Reading {
  nodeCpuMs: number;
  redisCommands: number;
  redisPublishes: number;
  redisCpuMs: number;
  pgCpuMs: number;
  at: number;
}

const ticksOf = (pid: number) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0; // the backend has gone
  }
};

/** The counters are read over a connection to another database, so that reading them counts no transaction of the bench's. */
const database = new URL(benchDatabaseUrl).pathname.slice(1);
const monitorUrl = Object.assign(new URL(benchDatabaseUrl), { pathname: '/postgres' }).toString();

function meter(nodes: ServerNode[], redis: Redis, db: Client) {
  const pgSeen = new Map<number, number>();
  const read = async (): Promise<Reading> => {
    const [commandstats, cpu] = [await redis.info('commandstats'), await redis.info('cpu')];
    const calls = (name: string) => Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(commandstats)?.[1] ?? 0);
    const seconds = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(cpu)?.[1] ?? 0);
    const { rows } = await db.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database]);
    // Backends come and go with the pools: each one's CPU counts from when it was first seen (0 if new).
    let pgCpuMs = 0;
    for (const { pid } of rows) pgSeen.set(pid, ticksOf(pid));
    for (const ms of pgSeen.values()) pgCpuMs += ms;
    return {
      nodeCpuMs: nodes.reduce((sum, node) => sum + node.cpuMs(), 0),
      redisCommands: [...commandstats.matchAll(/calls=(\d+)/g)].reduce((sum, [, n]) => sum + Number(n), 0),
      redisPublishes: calls('publish') + calls('spublish'),
      redisCpuMs: (seconds('used_cpu_sys') + seconds('used_cpu_user')) * 1000,
      pgCpuMs,
      at: performance.now(),
    };
  };
  const transactions = async () => {
    const { rows } = await db.query<{ n: string }>('select xact_commit + xact_rollback as n from pg_stat_database where datname = $1', [database]);
    return Number(rows[0]!.n);
  };
  return { read, transactions };
}

interface Cost {
  step: string;
  count: number;
  nodeCpuUs: number;
  redisCommands: number;
  redisPublishes: number;
  redisCpuUs: number;
  sqlTransactions: number;
  pgCpuUs: number;
}

runOnCluster(nodeCount, { RECONNECT_GRACE_S: '3600', SOCKET_ADAPTER: adapter }, async (cluster) => {
  const nodes = cluster.nodes;
  const redis = new Redis(benchRedisUrl);
  const db = new Client({ connectionString: monitorUrl });
  await db.connect();
  const load = await startSocketLoad(2);
  const { read, transactions } = meter(nodes, redis, db);
  const costs: Cost[] = [];
  let idle = { nodeCpuMsPerS: 0, redisCommandsPerS: 0, redisCpuMsPerS: 0 };

  /** Idle rates of the cluster as it stands (rooms held, sockets attached), to subtract from the steps. */
  async function measureIdle(seconds: number) {
    const before = await read();
    await sleep(seconds * 1000);
    const after = await read();
    const s = (after.at - before.at) / 1000;
    // Each reading is itself two INFO commands and their CPU.
    idle = {
      nodeCpuMsPerS: (after.nodeCpuMs - before.nodeCpuMs) / s,
      redisCommandsPerS: (after.redisCommands - before.redisCommands - 2) / s,
      redisCpuMsPerS: (after.redisCpuMs - before.redisCpuMs) / s,
    };
    return { before, after, s };
  }

  /** Waits until Redis runs no more than the idle rate's commands in half a second: the work set off has run. */
  async function quiet() {
    for (let last = (await read()).redisCommands; ;) {
      await sleep(500);
      const now = (await read()).redisCommands;
      if (now - last <= idle.redisCommandsPerS / 2 + 5) return;
      last = now;
    }
  }

  /** Runs `work` (which does `count` operations) and records what each one cost. */
  async function step(name: string, count: number, work: () => Promise<unknown>, extraNodeCpuMs = 0): Promise<Cost> {
    const xactBefore = await transactions();
    const before = await read();
    await work();
    const after = await read();
    await sleep(statsSettleMs);
    const xacts = (await transactions()) - xactBefore;
    const s = (after.at - before.at) / 1000;
    const cost: Cost = {
      step: name,
      count,
      nodeCpuUs: ((after.nodeCpuMs - before.nodeCpuMs - idle.nodeCpuMsPerS * s - extraNodeCpuMs) * 1000) / count,
      redisCommands: (after.redisCommands - before.redisCommands - 2 - idle.redisCommandsPerS * s) / count,
      redisPublishes: (after.redisPublishes - before.redisPublishes) / count,
      redisCpuUs: ((after.redisCpuMs - before.redisCpuMs - idle.redisCpuMsPerS * s) * 1000) / count,
      sqlTransactions: xacts / count,
      pgCpuUs: ((after.pgCpuMs - before.pgCpuMs) * 1000) / count,
    };
    costs.push(cost);
    console.error(
      `${name}: ${count} in ${s.toFixed(1)} s; per operation node CPU ${cost.nodeCpuUs.toFixed(0)} µs, Redis ${cost.redisCommands.toFixed(2)} commands ` +
        `(${cost.redisPublishes.toFixed(2)} publishes), Redis CPU ${cost.redisCpuUs.toFixed(1)} µs, SQL ${cost.sqlTransactions.toFixed(2)} transactions, PostgreSQL CPU ${cost.pgCpuUs.toFixed(0)} µs`,
    );
    return cost;
  }

  try {
    /** Room r is created on one node and its host joins through the next (the same one on one node). */
    const owner = (r: number) => nodes[r % nodes.length]!;
    const front = (r: number) => nodes[(r + 1) % nodes.length]!;
    /** For each room, a node that does not run it: every later request and socket goes there, and is forwarded. */
    const away = new Map<string, ServerNode>();
    const hosts: Session[] = [];
    for (const node of nodes) hosts.push(await registerHost(node.url));
    // Warm-up: JIT, pools, prepared scripts.
    await pool(40, 8, async (i) => {
      const code = await createRoom(owner(i).url, hosts[i % nodes.length]!);
      await join(front(i).url, code, hosts[i % nodes.length]!);
      await call(front(i).url, 'POST', `/meetings/${code}/end`, hosts[i % nodes.length]!.token);
    });
    await measureIdle(idleSeconds);
    console.error(
      `idle, no rooms: node CPU ${idle.nodeCpuMsPerS.toFixed(1)} ms/s (all nodes), Redis ${idle.redisCommandsPerS.toFixed(1)} commands/s and ${idle.redisCpuMsPerS.toFixed(2)} ms CPU/s`,
    );

    const people: Session[] = [];
    await step('guest sign-in', guests, () => pool(guests, 8, async (i) => (people[i] = await guest(nodes[i % nodes.length]!.url, `Guest ${i}`))));
    const codes: string[] = [];
    const hostOf = (r: number) => hosts[r % nodes.length]!;
    await step('create room', rooms, () =>
      pool(rooms, 8, async (r) => (codes[r] = await createRoom(owner(r).url, hostOf(r), { max_participants: perRoom + 1 }))),
    );
    // A new room waits in its creator's memory for 10 s; these were created over 11 s ago, so the
    // host's join loads them (a meeting created ahead of time). Then the pair made at once.
    await step("host's first join, room created earlier (loads it)", rooms, () => pool(rooms, 8, (r) => join(front(r).url, codes[r]!, hostOf(r))));
    // The node that loaded it runs it now.
    for (const [r, code] of codes.entries()) away.set(code, owner(r));
    const adHoc: string[] = [];
    await step('create room + host joins at once (pair)', rooms, () =>
      pool(rooms, 8, async (r) => {
        adHoc[r] = await createRoom(owner(r).url, hostOf(r));
        await join(front(r).url, adHoc[r]!, hostOf(r));
        away.set(adHoc[r]!, front(r)); // its creator runs it
      }),
    );
    const roomOf = (i: number) => codes[i % rooms]!;
    const via = (code: string) => away.get(code)!;
    await step('guest join (open room)', guests, () => pool(guests, 8, (i) => join(via(roomOf(i)).url, roomOf(i), people[i]!)));

    await measureIdle(idleSeconds);
    const idleRooms = idle;
    console.error(`idle, ${rooms} rooms, no sockets: node CPU ${idle.nodeCpuMsPerS.toFixed(1)} ms/s, Redis ${idle.redisCommandsPerS.toFixed(1)} commands/s`);
    await step('socket connect + room:attach', guests, async () => {
      for (const node of nodes) {
        const mine = people.flatMap((who, i) => (via(roomOf(i)) === node ? [{ token: who.token, roomCode: roomOf(i) }] : []));
        await load.open(node.url, mine);
      }
    });
    // An attached socket doing nothing: pings every 25 s, the owners' once-a-second sweep.
    const held = await measureIdle(idleSeconds);
    const perSocketSecondUs = ((idle.nodeCpuMsPerS - idleRooms.nodeCpuMsPerS) * 1000) / guests;
    console.error(
      `idle attached socket: ${guests} sockets for ${held.s.toFixed(0)} s; node CPU ${idle.nodeCpuMsPerS.toFixed(1)} ms/s against ${idleRooms.nodeCpuMsPerS.toFixed(1)} without them: ` +
        `${perSocketSecondUs.toFixed(2)} µs per socket-second; Redis ${idle.redisCommandsPerS.toFixed(1)} commands/s against ${idleRooms.redisCommandsPerS.toFixed(1)}`,
    );
    costs.push({
      step: 'idle attached socket, per second',
      count: guests,
      nodeCpuUs: perSocketSecondUs,
      redisCommands: (idle.redisCommandsPerS - idleRooms.redisCommandsPerS) / guests,
      redisPublishes: 0,
      redisCpuUs: ((idle.redisCpuMsPerS - idleRooms.redisCpuMsPerS) * 1000) / guests,
      sqlTransactions: 0,
      pgCpuUs: 0,
    });

    const levelRate = quick ? 3_000 : 4_000;
    const levelMs = quick ? 5_000 : 10_000;
    let levelsSent = 0;
    const level = await step('audio:level (quiet)', 1, async () => {
      levelsSent = (await load.levels(levelRate, levelMs, -60)).sent;
    });
    for (const key of ['nodeCpuUs', 'redisCommands', 'redisCpuUs', 'sqlTransactions', 'pgCpuUs'] as const) level[key] /= levelsSent;
    level.count = levelsSent;
    console.error(
      `  (${levelsSent} levels at ${levelRate}/s: ${level.nodeCpuUs.toFixed(1)} µs node CPU, ${level.redisCommands.toFixed(4)} Redis commands each)`,
    );

    // Speaker changes and signals: two sockets of this process in each of some rooms of their own.
    const pairs = quick ? 10 : 20;
    const duo: { code: string; a: Socket; b: Socket; bId: string }[] = [];
    for (let p = 0; p < pairs; p++) {
      const r = rooms + p;
      const host = hostOf(r);
      const code = await createRoom(owner(r).url, host);
      await join(front(r).url, code, host);
      const other = await guest(front(r).url, 'Talker');
      await join(front(r).url, code, other);
      duo.push({
        code,
        a: await attachedSocket(front(r).url, code, host.token),
        b: await attachedSocket(front(r).url, code, other.token),
        bId: other.userId,
      });
    }
    await sleep(statsSettleMs); // the set-up's transactions reported before the next step counts
    let changes = 0;
    for (const { a } of duo) a.on('speaker:changed', () => changes++);
    const turns = quick ? 6 : 12;
    // Each turn: one of the two is loud (-20 dBFS) for 600 ms while the other is quiet, every 50 ms.
    const talk = async (loud: number) => {
      for (let t = 0; t < turns; t++) {
        for (let tick = 0; tick < 12; tick++) {
          for (const { code, a, b } of duo) {
            a.emit('audio:level', { room_code: code, level: t % 2 === 0 ? loud : -60 });
            b.emit('audio:level', { room_code: code, level: t % 2 === 0 ? -60 : loud });
          }
          await sleep(50);
        }
      }
      await quiet();
    };
    // The same levels, all quiet: what the levels themselves cost, to take out of the speaker changes.
    const controlFrom = (await read()).nodeCpuMs;
    const controlAt = performance.now();
    await talk(-60);
    const levelsCpuMs = (await read()).nodeCpuMs - controlFrom - (idle.nodeCpuMsPerS * (performance.now() - controlAt)) / 1000;
    await step('speaker change', 1, () => talk(-20), levelsCpuMs);
    const speaker = costs.at(-1)!;
    for (const key of ['nodeCpuUs', 'redisCommands', 'redisPublishes', 'redisCpuUs', 'sqlTransactions', 'pgCpuUs'] as const) speaker[key] /= changes;
    speaker.count = changes;
    console.error(
      `  (${changes} speaker:changed; per change, the CPU of the same levels all quiet taken out (${levelsCpuMs.toFixed(0)} ms): node CPU ${speaker.nodeCpuUs.toFixed(0)} µs, Redis ${speaker.redisCommands.toFixed(2)} commands, ${speaker.redisPublishes.toFixed(2)} publishes)`,
    );

    // A trickled ICE candidate, the most common signal (an offer or answer is one of about 14 per pair of peers).
    const perPair = quick ? 20 : 40;
    const candidate = { candidate: 'candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0', sdpMid: '0' };
    let delivered = 0;
    await step('rtc:signal (ICE candidate)', duo.length * perPair, async () => {
      for (let i = 0; i < perPair; i++) {
        const replies = await Promise.all(
          duo.map(
            ({ code, a, bId }) =>
              a.timeout(10_000).emitWithAck('rtc:signal', { room_code: code, to: bId, candidate }) as Promise<{ ok: boolean; data?: { delivered: boolean } }>,
          ),
        );
        delivered += replies.filter((reply) => reply.ok && reply.data?.delivered).length;
        await sleep(25);
      }
    });
    if (delivered !== duo.length * perPair) throw new Error(`only ${delivered} of ${duo.length * perPair} signals delivered`);
    for (const { a, b } of duo) {
      a.close();
      b.close();
    }
    idle = idleRooms; // the sockets' own idle cost goes with them

    await step('socket disconnect (detach)', guests, async () => {
      await load.closeSockets();
      await quiet(); // the detaches run after the sockets close
    });
    await step('guest leave (REST)', guests, () => pool(guests, 8, (i) => call(via(roomOf(i)).url, 'POST', `/meetings/${roomOf(i)}/leave`, people[i]!.token)));
    const everyRoom = [...codes, ...adHoc];
    await step('end room (REST)', everyRoom.length, () =>
      pool(everyRoom.length, 8, (r) => call(via(everyRoom[r]!).url, 'POST', `/meetings/${everyRoom[r]}/end`, hostOf(r).token)),
    );

    console.log(`\n${nodeCount} node(s), adapter ${adapter}, ${guests} guests in ${rooms} rooms of ${perRoom + 1}, ${new Date().toISOString()}\n`);
    console.log('| operation | n | node CPU (µs) | Redis commands | of which publishes | Redis CPU (µs) | SQL transactions | PostgreSQL backend CPU (µs) |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const c of costs)
      console.log(
        `| ${c.step} | ${c.count} | ${c.nodeCpuUs.toFixed(c.nodeCpuUs < 10 ? 2 : 0)} | ${c.redisCommands.toFixed(c.redisCommands < 0.1 ? 4 : 2)} | ${c.redisPublishes.toFixed(2)} | ${c.redisCpuUs.toFixed(c.redisCpuUs < 10 ? 2 : 1)} | ${c.sqlTransactions.toFixed(2)} | ${c.pgCpuUs.toFixed(0)} |`,
      );
  } finally {
    await load.stop();
    await db.end();
    redis.disconnect();
  }
});
