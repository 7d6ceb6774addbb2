import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config/config';

/**
 * A first look at the REST hot path: create a room and join it as its host, from N concurrent
 * loops (BENCH_CONCURRENCY, default 16), for 5 seconds. With BENCH_URL it drives a server
 * running in another process (the fairer figure); otherwise it starts one in this process
 * (single node, or Redis live state when REDIS_URL is set), where the client competes with it
 * for the event loop. Issue #6's `npm run bench` will measure properly, with a baseline.
 * Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/meetings_test npx tsx bench/meetings.bench.ts
 *  or: BENCH_URL=http://127.0.0.1:3000 npx tsx bench/meetings.bench.ts
 */
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const durationMs = 5_000;

async function main(): Promise<void> {
  const config = loadConfig({ LOG_LEVEL: 'silent', MIGRATE_ON_START: 'true', ...process.env });
  const external = process.env.BENCH_URL;
  if (!external && !config.databaseUrl) throw new Error('set DATABASE_URL (or BENCH_URL)');
  const app = external ? undefined : await createApp({ ...config, databaseUrl: config.databaseUrl! });
  if (app) await new Promise<void>((resolve) => app.httpServer.listen(0, '127.0.0.1', resolve));
  const base = `${external ?? `http://127.0.0.1:${(app!.httpServer.address() as AddressInfo).port}`}/api/v1`;
  const post = async (path: string, token?: string, body: unknown = {}) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json() as Promise<Record<string, any>>;
  };

  const email = `bench-${Date.now()}@example.test`;
  const { access_token: token } = await post('/auth/register', undefined, { email, password: 'correct horse battery', display_name: 'Bench' });
  const latencies: number[] = [];
  const deadline = Date.now() + durationMs;
  const loop = async () => {
    while (Date.now() < deadline) {
      const start = performance.now();
      const room = await post('/meetings', token, { name: 'Bench' });
      await post(`/meetings/${room.room_code}/join`, token);
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
  const mode = external ? `server at ${external}` : config.redisUrl ? 'Redis live state, same process' : 'in-process live state, same process';
  console.log(`create+join (${mode}, ${concurrency} concurrent): ${(latencies.length / (durationMs / 1000)).toFixed(0)} pairs/s; pair latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`);
  await app?.close();
}

void main();
