import { Redis } from 'ioredis';
import { ensureDatabase } from '../../src/persistence/ensure-database';
import { openOrm } from '../../src/persistence/orm';
import { startPrivateRedis } from '../../test/support/private-redis';

/**
 * The local services every benchmark runs on: a database of its own on the local PostgreSQL
 * (created and migrated here, with the app's own code), and a Redis server of its own (the local
 * redis-server binary on a free port, started by the runner), so that INFO commandstats counts
 * only what the benchmark's processes do. Each cluster also gets a key prefix of its own.
 */
export const benchDatabaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/meetings_bench';
/** Set by startRedis() in the runner; forked helpers inherit it through the environment. */
export let benchRedisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Starts a private redis-server (no persistence) and points benchRedisUrl (and children) at it. */
export async function startRedis(): Promise<() => Promise<void>> {
  const redis = await startPrivateRedis();
  benchRedisUrl = redis.url;
  process.env.BENCH_REDIS_URL = redis.url;
  return () => redis.close();
}

export async function prepareDatabase(): Promise<void> {
  await ensureDatabase(benchDatabaseUrl);
  const orm = await openOrm(benchDatabaseUrl, { migrate: true });
  await orm.close(true);
}

/** The total number of commands Redis has run (INFO commandstats), for commands-per-event figures. */
export async function redisCommandCount(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, [, calls]) => sum + Number(calls), 0);
}

/** Deletes a cluster's keys once a benchmark is done with it. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(benchRedisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
