import { spawn } from 'node:child_process';
import type { Socket } from 'socket.io-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, createRoom, guest, join, registerHost, type Session } from './lib/api';
import { attachedSocket, nextEvent } from './lib/client';
import { runOnCluster } from './lib/processes';

/**
 * `npm run build && npx tsx bench/trace-admit.ts`: the Redis round trips of one admit in the (c)
 * setting (REST on A, the guest's socket on B, the room on C) and of one REST create + join
 * pair of (a), on one node and over two (as row (g) makes them), as docs/performance.md lists them, then the admit's timeline: when each of its
 * commands reached Redis, from the moment the request was sent, median of 40 admits 30 ms apart.
 * It watches the bench's private Redis with MONITOR and keeps what the nodes send (commands run
 * inside a script are left out), less their background work (heartbeats, the deadline poll).
 */
interface Sent {
  atMs: number;
  command: string;
}

async function monitored(redisUrl: string, work: () => Promise<void>): Promise<Sent[]> {
  const monitor = spawn('redis-cli', ['-u', redisUrl, 'monitor']);
  let output = '';
  monitor.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await sleep(300);
  output = '';
  await work();
  await sleep(100);
  monitor.kill();
  return (
    output
      .split('\n')
      // "<unix time> [<db> <client>] "<command>" ...": a script's own commands show as [<db> lua].
      .filter((line) => /\[\d+ [0-9.]+:\d+\]/.test(line))
      .map((line) => ({ atMs: Number(line.split(' ')[0]) * 1000, command: line.replace(/^[0-9.]+ \[[^\]]*\] /, '').trim() }))
      // The background: heartbeats (two scripts per beat) and the deadline index poll.
      .filter(({ command }) => !/^"evalsha" "[0-9a-f]+" "\d+" "[^"]*:(node:\{[^}"]+\}|\{cluster\}:nodes)"|^"zrangebyscore"/i.test(command))
  );
}

function print(label: string, sent: Sent[]) {
  console.log(`\n== ${label}: ${sent.length} Redis commands sent`);
  for (const { command } of sent) console.log(`   ${command.slice(0, 110)}`);
}

/** The step a command is, for the timeline: its verb and what it addresses, less the prefix. */
const stepOf = (command: string, prefix: string) =>
  command
    .split(' ')
    .slice(0, 2)
    .join(' ')
    .replaceAll(prefix, '')
    .replace(/#[^"]*"$/, '#…"');

const median = (values: number[]) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

runOnCluster(3, { RECONNECT_GRACE_S: '3600' }, async (cluster) => {
  const redisUrl = process.env.BENCH_REDIS_URL!;
  const [a, b, c] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
  const host = await registerHost(c.url);
  const code = await createRoom(c.url, host, { lock_room: true });
  await join(c.url, code, host);
  const guests: { who: Session; socket: Socket }[] = [];
  for (let i = 0; i < 42; i++) {
    const who = await guest(c.url, `Guest ${i}`);
    await join(c.url, code, who);
    guests.push({ who, socket: await attachedSocket(b.url, code, who.token) });
  }
  const admit = async (index: number) => {
    const { who, socket } = guests[index]!;
    const heard = nextEvent(socket, 'lobby:admitted');
    const sentAt = performance.timeOrigin + performance.now();
    await call(a.url, 'POST', `/meetings/${code}/admit/${who.userId}`, host.token);
    return { sentAt, heardAt: performance.timeOrigin + (await heard) };
  };
  // The first admit through A teaches A the room's owner (its hint), as the bench's repeated admits do.
  await admit(0);
  print('admit on A, room on C, guest on B (A knows the owner)', await monitored(redisUrl, async () => void (await admit(1))));

  const timings: { sentAt: number; heardAt: number }[] = [];
  const sent = await monitored(redisUrl, async () => {
    for (let i = 2; i < guests.length; i++) {
      timings.push(await admit(i));
      await sleep(30);
    }
  });
  const steps = new Map<string, number[]>();
  for (const { sentAt, heardAt } of timings) {
    for (const { atMs, command } of sent.filter(({ atMs }) => atMs >= sentAt && atMs <= heardAt)) {
      const step = stepOf(command, cluster.prefix);
      steps.set(step, [...(steps.get(step) ?? []), atMs - sentAt]);
    }
    steps.set('lobby:admitted at the guest', [...(steps.get('lobby:admitted at the guest') ?? []), heardAt - sentAt]);
  }
  console.log(`\n== the admit's timeline: ms from sending the request, median of ${timings.length} admits`);
  for (const [step, offsets] of [...steps].sort((x, y) => median(x[1]) - median(y[1]))) {
    console.log(`   ${median(offsets).toFixed(2).padStart(6)}  ${step}  (${offsets.length})`);
  }

  for (const { socket } of guests) socket.close();
  print('create + join on one node (the pair of (a))', await monitored(redisUrl, async () => void (await join(a.url, await createRoom(a.url, host), host))));
  print(
    'create on A, join on B (a pair of (g) on several nodes)',
    await monitored(redisUrl, async () => void (await join(b.url, await createRoom(a.url, host), host))),
  );
});
