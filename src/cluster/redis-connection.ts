import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisTarget } from '../config/config';

/**
 * A Redis connection for cluster mode. It connects (and reconnects) in the background, so a
 * node boots while Redis is down and reports not-ready on /readyz until it answers. Through
 * Sentinel it connects to the primary the sentinels name, and after a failover to the new one:
 * ioredis asks the sentinels again on every reconnect and listens for their `+switch-master`.
 */
export function createRedisConnection(target: RedisTarget, logger: Logger, name: string, options: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: 3,
    // Reconnect within about a second of Redis coming back (ioredis's own backoff reaches 5 s):
    // after Redis lost its data, nodes have a few seconds to take their rooms back (heartbeat.ts).
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 1000) + Math.floor(Math.random() * 100),
    // How long a closing socket may linger before it is destroyed; shutdown must stay fast.
    disconnectTimeout: 500,
    ...options,
  };
  const redis = target.kind === 'url' ? new Redis(target.url, common) : new Redis({ ...sentinelOptions(target), ...common });
  let lastError = '';
  redis.on('error', (error: Error) => {
    // Reconnect attempts repeat the same error; log each distinct one once.
    if (error.message !== lastError) logger.warn({ err: error, component: 'redis' }, 'Redis connection error');
    lastError = error.message;
  });
  redis.on('ready', () => {
    lastError = '';
  });
  return redis;
}

/** Closes politely when connected, immediately otherwise (QUIT would wait for a reconnect). */
export async function closeRedisConnection(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') return redis.disconnect();
  // QUIT resolves on the server's OK; the socket is released a moment later, at 'end'.
  const ended = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  await redis.quit().catch(() => redis.disconnect());
  await ended;
}

/** The primary the sentinels name; REDIS_URL, when also set, gives only the credentials and database. */
function sentinelOptions(target: Extract<RedisTarget, { kind: 'sentinel' }>): RedisOptions {
  const url = target.url ? new URL(target.url) : undefined;
  return {
    sentinels: target.sentinels,
    name: target.name,
    role: 'master',
    // Switch as soon as the sentinels announce a new primary, not at the next failed command.
    failoverDetector: true,
    sentinelRetryStrategy: (attempt: number) => Math.min(100 * attempt, 1000),
    // A demoted primary answers writes with READONLY until the connection moves: move it at once.
    reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 2 : false),
    ...(url?.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url?.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url && url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
  };
}

/** Where Redis is, without credentials, for logs. */
export function describeRedis(target: RedisTarget): string {
  if (target.kind === 'sentinel') return `Redis primary "${target.name}" through sentinels ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(', ')}`;
  const u = new URL(target.url);
  u.username = '';
  u.password = '';
  return `Redis ${u.toString()}`;
}
