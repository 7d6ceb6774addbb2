import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../src/contract/events';

/**
 * A first look at the realtime hot paths, against a server running in its own process
 * (BENCH_URL). Issue #6's `npm run bench` will measure properly, with same-run baselines.
 *
 * 1. Audio levels: BENCH_SOCKETS participants (default 200), each alone in a room, send quiet
 *    levels (-60 dBFS: nothing changes) at BENCH_LEVEL_HZ (default 50) for 5 s. Reported: the
 *    rate the server received, its CPU per level (from /metrics process_cpu_seconds_total), its
 *    event-loop lag p99, and, with BENCH_REDIS_URL, the Redis commands per level (INFO commandstats).
 * 2. Speaker latency: in 20 fresh rooms, a participant starts sending -20 dBFS every 50 ms;
 *    another participant's socket times `speaker:changed` from the first loud sample, minus the
 *    300 ms the rule requires (ACTIVE_SPEAKER_MIN_MS at its default).
 *
 * Run: npm run build && PORT=3999 REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=… node dist/src/main.js
 *      BENCH_URL=http://127.0.0.1:3999 BENCH_REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/realtime.bench.ts
 */
type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const base = process.env.BENCH_URL ?? 'http://127.0.0.1:3000';
const socketsWanted = Number(process.env.BENCH_SOCKETS ?? 200);
const levelHz = Number(process.env.BENCH_LEVEL_HZ ?? 50);
const durationMs = 5_000;
const minMs = 300;

async function post(path: string, token?: string, body: unknown = {}): Promise<Record<string, any>> {
  const response = await fetch(`${base}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<Record<string, any>>;
}

async function connect(token: string): Promise<Client> {
  const socket: Client = io(base, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** A started room with the given number of attached participants (the first is the host). */
async function room(hostToken: string, guests: number): Promise<{ code: string; sockets: Client[] }> {
  const { room_code: code } = await post('/meetings', hostToken, { name: 'Bench' });
  await post(`/meetings/${code}/join`, hostToken);
  const tokens = [hostToken];
  for (let i = 0; i < guests; i++) tokens.push((await post('/auth/guest', undefined, { display_name: `Guest ${i}` })).access_token);
  const sockets: Client[] = [];
  for (const [i, token] of tokens.entries()) {
    if (i > 0) await post(`/meetings/${code}/join`, token);
    const socket = await connect(token);
    const reply = await socket.emitWithAck('room:attach', { room_code: code });
    if (!reply.ok) throw new Error(`attach: ${reply.error.code}`);
    sockets.push(socket);
  }
  return { code, sockets };
}

async function serverMetrics(): Promise<{ cpu: number; lagP99: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { cpu: value('process_cpu_seconds_total'), lagP99: value('nodejs_eventloop_lag_p99_seconds') };
}

async function redisCalls(redis: Redis | undefined): Promise<number> {
  if (!redis) return NaN;
  const info = await redis.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, [, calls]) => sum + Number(calls), 0);
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function levels(hostToken: string, redis: Redis | undefined) {
  const rooms = [];
  for (let i = 0; i < socketsWanted; i++) rooms.push(await room(hostToken, 1));
  const senders = rooms.map(({ code, sockets }) => ({ code, socket: sockets[1]! }));
  const before = await serverMetrics();
  const callsBefore = await redisCalls(redis);
  let sent = 0;
  const started = performance.now();
  const timer = setInterval(() => {
    for (const { code, socket } of senders) socket.volatile.emit('audio:level', { room_code: code, level: -60 });
    sent += senders.length;
  }, 1000 / levelHz);
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = await serverMetrics();
  const calls = (await redisCalls(redis)) - callsBefore;
  const cpuUsPerLevel = ((after.cpu - before.cpu) * 1e6) / sent;
  console.log(
    `audio:level  ${senders.length} sockets × ${levelHz}/s: ${(sent / seconds).toFixed(0)} levels/s sent; server CPU ${cpuUsPerLevel.toFixed(1)} µs per level ` +
      `(${((after.cpu - before.cpu) / seconds * 100).toFixed(0)}% of a core); event-loop lag p99 ${(after.lagP99 * 1000).toFixed(1)} ms; ` +
      `Redis commands per level ${redis ? (calls / sent).toFixed(4) : 'n/a'} (${redis ? calls : '-'} in all, incl. the metrics reads)`,
  );
  for (const { sockets } of rooms) for (const socket of sockets) socket.close();
}

async function speakerLatency(hostToken: string) {
  const samples: number[] = [];
  for (let trial = 0; trial < 20; trial++) {
    const { code, sockets } = await room(hostToken, 1);
    const [listener, speaker] = sockets as [Client, Client];
    const changed = new Promise<number>((resolve) => listener.once('speaker:changed', () => resolve(performance.now())));
    const firstAt = performance.now();
    const send = () => speaker.emit('audio:level', { room_code: code, level: -20 });
    send();
    const timer = setInterval(send, 50);
    samples.push((await changed) - firstAt - minMs);
    clearInterval(timer);
    for (const socket of sockets) socket.close();
  }
  samples.sort((a, b) => a - b);
  console.log(
    `speaker:changed after the first loud sample, minus ${minMs} ms: p50 ${quantile(samples, 0.5).toFixed(1)} ms, p99 ${quantile(samples, 0.99).toFixed(1)} ms ` +
      `(20 trials; includes up to one 50 ms sample interval, since the rule can only fire on a sample)`,
  );
}

async function main(): Promise<void> {
  const redis = process.env.BENCH_REDIS_URL ? new Redis(process.env.BENCH_REDIS_URL) : undefined;
  const email = `bench-${Date.now()}@example.test`;
  const { access_token: hostToken } = await post('/auth/register', undefined, { email, password: 'correct horse battery', display_name: 'Bench host' });
  await levels(hostToken, redis);
  await speakerLatency(hostToken);
  await redis?.quit();
}

void main();
