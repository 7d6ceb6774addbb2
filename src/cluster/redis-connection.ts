import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/**
 * A Redis connection for cluster mode. It connects (and reconnects) in the background, so a
 * node boots while Redis is down and reports not-ready on /readyz until it answers.
 */
export function createRedisConnection(url: string, logger: Logger, name: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 3,
    // Reconnect within about a second of Redis coming back (ioredis's own backoff reaches 5 s):
    // after Redis lost its data, nodes have a few seconds to take their rooms back (heartbeat.ts).
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 1000) + Math.floor(Math.random() * 100),
    // How long a closing socket may linger before it is destroyed; shutdown must stay fast.
    disconnectTimeout: 500,
    ...options,
  });
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

/** `redis://host:port/db` without credentials, for logs. */
export function describeRedisUrl(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return `Redis ${u.toString()}`;
}
