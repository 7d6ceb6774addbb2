import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisClient, RedisTarget } from '../config/redis-target';

/**
 * A Redis connection for cluster mode. It connects (and reconnects) in the background, so a
 * node boots while Redis is down and reports not-ready on /readyz until it answers. Through
 * Sentinel it connects to the primary the sentinels name, and after a failover to the new one:
 * ioredis asks the sentinels again on every reconnect and listens for their `+switch-master`.
 * On a Redis Cluster it learns the slots from the nodes given and follows them as they move;
 * `sharded` also opens a subscriber per primary for sharded pub/sub (SSUBSCRIBE).
 */
export function createRedisConnection(target: RedisTarget, logger: Logger, name: string, options: RedisOptions & { sharded?: boolean } = {}): RedisClient {
  const { sharded = false, ...overrides } = options;
  const common: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: 3,
    // Reconnect within about a second of Redis coming back (ioredis's own backoff reaches 5 s):
    // after Redis lost its data, nodes have a few seconds to take their rooms back (heartbeat.ts).
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 1000) + Math.floor(Math.random() * 100),
    // How long a closing socket may linger before it is destroyed; shutdown must stay fast.
    disconnectTimeout: 500,
    ...overrides,
  };
  const redis = connect(target, common, sharded);
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

function connect(target: RedisTarget, common: RedisOptions, sharded: boolean): RedisClient {
  switch (target.kind) {
    case 'url':
      return new Redis(target.url, common);
    case 'sentinel':
      return new Redis({ ...sentinelOptions(target), ...common });
    case 'cluster':
      return new Cluster(target.nodes, {
        redisOptions: { ...common, ...credentials(target.url) },
        shardedSubscribers: sharded,
        // Like a single Redis's reconnects: within about a second of the cluster answering again.
        clusterRetryStrategy: (attempt: number) => Math.min(100 * attempt, 1000) + Math.floor(Math.random() * 100),
      });
  }
}

/** Closes politely when connected, immediately otherwise (QUIT would wait for a reconnect). */
export async function closeRedisConnection(redis: RedisClient): Promise<void> {
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
    ...credentials(target.url),
    ...(url && url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
  };
}

/** The user name and password of REDIS_URL, when it is set beside sentinels or cluster nodes. */
function credentials(redisUrl: string | undefined): RedisOptions {
  const url = redisUrl ? new URL(redisUrl) : undefined;
  return {
    ...(url?.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url?.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** Where Redis is, without credentials, for logs. */
export function describeRedis(target: RedisTarget): string {
  if (target.kind === 'cluster') return `Redis Cluster through ${target.nodes.map((n) => `${n.host}:${n.port}`).join(', ')}`;
  if (target.kind === 'sentinel') return `Redis primary "${target.name}" through sentinels ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(', ')}`;
  const u = new URL(target.url);
  u.username = '';
  u.password = '';
  return `Redis ${u.toString()}`;
}
