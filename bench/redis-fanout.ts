import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedis } from './lib/services';

/**
 * `npx tsx bench/redis-fanout.ts`: what one Redis core spends on our kinds of work when it is
 * kept busy, against when it is mostly idle, for docs/capacity.md. A private redis-server.
 *
 * 1. Fan-out: N subscribers (raw connections that read and drop what they get, standing for
 *    nodes) on the pub/sub adapter's pattern (`PSUBSCRIBE prefix#/#*`) or on one room's shard
 *    channel (`SSUBSCRIBE`); redis-benchmark publishes 200-byte messages as fast as it can (20
 *    connections, 16 commands in flight each). Per published message: Redis's CPU time (INFO
 *    cpu), and so what each further subscriber adds.
 * 2. A script like the live state's writes (12 commands: hash writes, expiries, a sorted-set
 *    entry) and a PUBLISH, each sent one at a time from one connection 200 times a second (Redis
 *    mostly idle, as when bench/op-costs.ts measures), then from 50 connections with one command
 *    in flight each, as fast as redis-benchmark goes (Redis busy, as under many nodes). Redis's
 *    own idle CPU (its timers) is measured first and taken out.
 */
const run = promisify(execFile);
const payload = 'x'.repeat(200);
const subscriberCounts = [0, 1, 8, 32, 128];
const resp = (...words: string[]) => `*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`;

async function subscribers(port: number, count: number, command: string[]): Promise<{ sockets: Socket[]; bytes: () => number }> {
  let bytes = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => socket.write(resp(...command)));
          socket.once('data', () => resolve(socket)); // the subscription's confirmation
          socket.on('data', (chunk) => (bytes += chunk.length));
          socket.once('error', reject);
        }),
    ),
  );
  return { sockets, bytes: () => bytes };
}

async function cpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (seconds('used_cpu_sys') + seconds('used_cpu_user')) * 1000;
}

/** Keys and arguments as in a live-state write: a room's hashes, their expiry, the deadline index. */
const script = `
for i = 1, 8 do redis.call('HSET', KEYS[1] .. ':' .. (i % 4), 'user' .. i, ARGV[1]) end
for i = 0, 2 do redis.call('PEXPIRE', KEYS[1] .. ':' .. i, 86400000) end
redis.call('ZADD', 'deadlines', ARGV[2], KEYS[1])
return 1
`;

async function idleVersusBusy(redis: Redis, port: number): Promise<void> {
  const sha = (await redis.script('LOAD', script)) as string;
  const sub = await subscribers(port, 1, ['PSUBSCRIBE', 'bench#/#*']);
  const state = '{"status":"connected","role":"guest","display_name":"Guest 12","joined_at":1765000000000}';
  const commands: [string, string[]][] = [
    ['EVALSHA (12-command script)', ['EVALSHA', sha, '1', 'room:abcdefgh', state, '1765000000000']],
    ['PUBLISH (one subscriber)', ['PUBLISH', 'bench#/#room:abcdefgh#', payload]],
  ];
  // Redis's own timers (serverCron) use CPU with no command at all.
  const cronFrom = await cpuMs(redis);
  await sleep(5_000);
  const cronPerMs = ((await cpuMs(redis)) - cronFrom) / 5_000;
  console.log(
    '\n| command | Redis mostly idle (200/s, one at a time): CPU per command (µs) | Redis busy (50 connections): commands/s | CPU per command (µs) |',
  );
  console.log('| --- | --- | --- | --- |');
  for (const [name, words] of commands) {
    const client = new Redis(process.env.BENCH_REDIS_URL!);
    const count = 1_000;
    const from = await cpuMs(redis);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      await client.call(words[0]!, ...words.slice(1));
      await sleep(5);
    }
    const idleUs = (((await cpuMs(redis)) - from - cronPerMs * (performance.now() - started)) * 1000) / count;
    client.disconnect();
    const messages = 100_000;
    const busyFrom = await cpuMs(redis);
    const busyStarted = performance.now();
    const { stdout } = await run('redis-benchmark', ['-p', String(port), '-c', '50', '-n', String(messages), '-P', '1', '-q', ...words]);
    const busyUs = (((await cpuMs(redis)) - busyFrom - cronPerMs * (performance.now() - busyStarted)) * 1000) / messages;
    const rate = Number(/([0-9.]+) requests per second/.exec(stdout)?.[1] ?? Number.NaN);
    console.log(`| ${name} | ${idleUs.toFixed(1)} | ${Math.round(rate)} | ${busyUs.toFixed(1)} |`);
  }
  for (const socket of sub.sockets) socket.destroy();
}

async function main(): Promise<void> {
  const stop = await startRedis();
  const port = Number(new URL(process.env.BENCH_REDIS_URL!).port);
  const redis = new Redis(process.env.BENCH_REDIS_URL!);
  console.log('| adapter | subscribers | published/s (redis-benchmark) | Redis CPU per message (µs) | added per subscriber (µs) |');
  console.log('| --- | --- | --- | --- | --- |');
  try {
    for (const mode of ['pub/sub', 'sharded'] as const) {
      const channel = 'bench#/#room:abcdefgh#';
      const publish = mode === 'pub/sub' ? 'PUBLISH' : 'SPUBLISH';
      let alone = Number.NaN;
      for (const count of subscriberCounts) {
        const subscribe = mode === 'pub/sub' ? ['PSUBSCRIBE', 'bench#/#*'] : ['SSUBSCRIBE', channel];
        const subs = await subscribers(port, count, subscribe);
        // Fewer messages with more subscribers: the readers here must keep up with N copies.
        const messages = Math.round(Math.min(200_000, 2_000_000 / Math.max(1, count)));
        const before = await cpuMs(redis);
        const { stdout } = await run('redis-benchmark', ['-p', String(port), '-c', '20', '-n', String(messages), '-P', '16', '-q', publish, channel, payload]);
        // Until every copy is delivered (the readers may lag), or 10 s.
        const expected = count * messages * payload.length;
        for (let waited = 0; subs.bytes() < expected && waited < 10_000; waited += 100) await sleep(100);
        const used = (await cpuMs(redis)) - before;
        const rate = Number(/([0-9.]+) requests per second/.exec(stdout)?.[1] ?? Number.NaN);
        const perMessage = (used * 1000) / messages;
        if (count === 0) alone = perMessage;
        const added = count === 0 ? '' : ((perMessage - alone) / count).toFixed(2);
        console.log(`| ${mode} | ${count} | ${Math.round(rate)} | ${perMessage.toFixed(2)} | ${added} |`);
        for (const socket of subs.sockets) socket.destroy();
        await sleep(200);
      }
    }
    await idleVersusBusy(redis, port);
  } finally {
    redis.disconnect();
    await stop();
  }
}

void main().then(() => process.exit());
