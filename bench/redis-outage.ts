import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type ClusterNode } from '../test/support/cluster';
import { createRoom, guestUser, hostUser, meetings, type Actor } from '../test/support/meetings';
import { startPrivateRedis } from '../test/support/private-redis';
import { closeSockets, connectSocket, request } from '../test/support/sockets';

/**
 * `npx tsx bench/redis-outage.ts`: what clients of a two-node cluster see while its Redis is down
 * and when it comes back, as docs/scaling.md "When Redis is unreachable" gives it. Nodes run from source
 * (as the tests run them) on the test database and a private redis-server, which is killed and
 * started again empty. Prints each figure as milliseconds: median and maximum of its samples.
 */
async function main() {
  const redis = await startPrivateRedis();
  const cluster = await startCluster(2, { REDIS_URL: redis.url, RECONNECT_GRACE_S: '3' });
  const [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
  try {
    const host = await hostUser(a, 'Bench host');
    const { room_code: code } = await createRoom(a, host);
    await meetings(a)(host, 'POST', `/${code}/join`, {});
    const guests: Actor[] = [];
    for (let i = 0; i < 3; i++) {
      const guest = await guestUser(b, `Bench guest ${i}`);
      await meetings(b)(guest, 'POST', `/${code}/join`, {});
      guests.push(guest);
    }
    for (const [i, actor] of [host, ...guests].entries()) {
      const socket = await connectSocket(i % 2 === 0 ? a : b, actor.token);
      await request(socket, 'room:attach', { room_code: code });
    }

    // A command forwarded to the owner just before Redis dies: its reply cannot come back.
    const inFlight = timed(() => meetings(b)(guests[0]!, 'POST', `/${code}/join`, {}));
    await sleep(2);
    await redis.kill();
    await sleep(2000); // past every node's lease
    const down = {
      'create a meeting (201)': await samples(10, () => timed(() => a.request('POST', '/api/v1/meetings', { token: host.token, body: { name: 'Outage' } }))),
      'guest sign-in (201)': await samples(10, () => timed(() => a.request('POST', '/api/v1/auth/guest', { body: { display_name: 'Outage guest' } }))),
      'a room command on its owner': await samples(5, () => timed(() => meetings(a)(host, 'GET', `/${code}`))),
      'a room command on another node': await samples(5, () => timed(() => meetings(b)(guests[0]!, 'GET', `/${code}`))),
    };
    const forwarded = await inFlight;
    report('Redis down', { ...down, 'a command forwarded just before the outage': [forwarded] });

    await sleep(3000);
    await redis.start();
    const back = Date.now();
    const firstCommand = await until(async () => (await meetings(b)(guests[0]!, 'GET', `/${code}`)).status === 200);
    const restored = await until(async () => {
      const response = await meetings(a)(host, 'GET', `/${code}/participants`);
      const participants = (response.body.participants ?? []) as { status: string }[];
      return response.status === 200 && participants.length === 4 && participants.every((p) => p.status === 'connected');
    });
    report('Redis back, empty (ms after it answers PING)', {
      'first room command answered 200': [{ ms: firstCommand - back, status: 200 }],
      'every participant in the room, connected': [{ ms: restored - back, status: 200 }],
    });
    console.log(`nodes still running: ${[a, b].every((node) => node.process.exitCode === null)}`);
  } finally {
    closeSockets();
    await cluster.close();
    await redis.close();
  }
}

interface Sample {
  ms: number;
  status: number;
}

async function timed(send: () => Promise<{ status: number }>): Promise<Sample> {
  const start = performance.now();
  const { status } = await send();
  return { ms: performance.now() - start, status };
}

async function samples(count: number, take: () => Promise<Sample>): Promise<Sample[]> {
  const taken: Sample[] = [];
  for (let i = 0; i < count; i++) taken.push(await take());
  return taken;
}

/** When `check` first holds, polled every 50 ms (30 s at most). */
async function until(check: () => Promise<boolean>): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('did not happen within 30 s');
    await sleep(50);
  }
  return Date.now();
}

function report(title: string, rows: Record<string, Sample[]>) {
  console.log(`\n${title}`);
  for (const [label, taken] of Object.entries(rows)) {
    const ms = taken.map((s) => s.ms).sort((x, y) => x - y);
    const statuses = [...new Set(taken.map((s) => s.status))].join('/');
    console.log(
      `  ${label.padEnd(48)} ${statuses.padEnd(8)} median ${ms[Math.floor(ms.length / 2)]!.toFixed(0).padStart(6)} ms, max ${ms.at(-1)!.toFixed(0).padStart(6)} ms`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
