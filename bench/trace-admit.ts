import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, createRoom, guest, join, registerHost } from './lib/api';
import { attachedSocket, nextEvent } from './lib/client';
import { startCluster } from './lib/processes';
import { deletePrefix, prepareDatabase, startRedis } from './lib/services';

/**
 * `npm run build && npx tsx bench/trace-admit.ts`: the Redis round trips of one admit in the (c)
 * setting (REST on A, the guest's socket on B, the room on C) and of one REST create + join
 * pair of (a), as docs/performance.md lists them. It watches the bench's private Redis with
 * MONITOR and prints what the nodes send (commands run inside a script are left out), less
 * their background work (heartbeats, the deadline poll).
 */
async function traced(label: string, redisUrl: string, work: () => Promise<void>) {
  const monitor = spawn('redis-cli', ['-u', redisUrl, 'monitor']);
  let output = '';
  monitor.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await sleep(300);
  output = '';
  await work();
  await sleep(100);
  monitor.kill();
  const sent = output
    .split('\n')
    // "<time> [<db> <client>] "<command>" ...": a script's own commands show as [<db> lua].
    .filter((line) => /\[\d+ [0-9.]+:\d+\]/.test(line))
    .map((line) => line.replace(/^[0-9.]+ \[[^\]]*\] /, '').trim())
    .filter((line) => !/"(node:[^:"]+|nodes|rooms:deadlines)"|^"(multi|exec|zrangebyscore|set|zadd|pexpire)"/i.test(line) || /inbox/.test(line));
  console.log(`\n== ${label}: ${sent.length} Redis commands sent`);
  for (const line of sent) console.log(`   ${line.slice(0, 110)}`);
}

async function main() {
  await prepareDatabase();
  const stopRedis = await startRedis();
  const cluster = await startCluster(3, { RECONNECT_GRACE_S: '3600' });
  try {
    const [a, b, c] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const host = await registerHost(c.url);
    const code = await createRoom(c.url, host, { lock_room: true });
    await join(c.url, code, host);
    const guests = [await guest(c.url, 'First'), await guest(c.url, 'Second')];
    for (const g of guests) await join(c.url, code, g);
    const sockets = await Promise.all(guests.map((g) => attachedSocket(b.url, code, g.token)));
    // The first admit through A teaches A the room's owner (its hint), as the bench's repeated admits do.
    await call(a.url, 'POST', `/meetings/${code}/admit/${guests[0]!.userId}`, host.token);
    await traced('admit on A, room on C, guest on B (A knows the owner)', process.env.BENCH_REDIS_URL!, async () => {
      const heard = nextEvent(sockets[1]!, 'lobby:admitted');
      await call(a.url, 'POST', `/meetings/${code}/admit/${guests[1]!.userId}`, host.token);
      await heard;
    });
    for (const s of sockets) s.close();
    await traced('create + join on one node (the pair of (a))', process.env.BENCH_REDIS_URL!, async () => {
      await join(a.url, await createRoom(a.url, host), host);
    });
  } finally {
    await cluster.close();
    await deletePrefix(cluster.prefix);
    await stopRedis();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
