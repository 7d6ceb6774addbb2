import type { Cluster, Redis } from 'ioredis';

/**
 * Where a cluster's Redis is: one server (REDIS_URL), the primary the sentinels name
 * (REDIS_SENTINELS, REDIS_SENTINEL_NAME), which follows a failover, or a Redis Cluster
 * (REDIS_CLUSTER_NODES, docs/scaling.md "Redis Cluster"). With either of the last two, REDIS_URL,
 * if set, gives only the credentials (and, with Sentinel, the database number).
 */
export type RedisTarget =
  | { kind: 'url'; url: string }
  | { kind: 'sentinel'; sentinels: HostPort[]; name: string; url: string | undefined }
  | { kind: 'cluster'; nodes: HostPort[]; url: string | undefined };

export interface HostPort {
  host: string;
  port: number;
}

/** A connection to one Redis (directly or through Sentinel) or to a Redis Cluster: the same commands either way. */
export type RedisClient = Redis | Cluster;

/** The variables that say where Redis is, as read (each one already checked on its own). */
interface RedisEnv {
  REDIS_URL?: string;
  REDIS_SENTINELS?: HostPort[];
  REDIS_SENTINEL_NAME?: string;
  REDIS_CLUSTER_NODES?: HostPort[];
  SOCKET_ADAPTER?: string;
}

/** What is wrong with how they go together, as config.ts reports it: the variable and why. */
export function redisProblems(env: RedisEnv): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (env.REDIS_CLUSTER_NODES && env.REDIS_SENTINELS) {
    problems.push({ path: 'REDIS_CLUSTER_NODES', message: 'cannot be used with REDIS_SENTINELS: a Redis Cluster fails over by itself' });
  }
  if (env.REDIS_CLUSTER_NODES && env.SOCKET_ADAPTER && env.SOCKET_ADAPTER !== 'redis-sharded') {
    problems.push({
      path: 'SOCKET_ADAPTER',
      message: 'must be redis-sharded with REDIS_CLUSTER_NODES: on a Redis Cluster only sharded pub/sub keeps each channel in order',
    });
  }
  if (env.REDIS_CLUSTER_NODES && env.REDIS_URL && !['', '/', '/0'].includes(new URL(env.REDIS_URL).pathname)) {
    problems.push({ path: 'REDIS_URL', message: 'must name database 0 (or none) with REDIS_CLUSTER_NODES: a Redis Cluster has only database 0' });
  }
  if (Boolean(env.REDIS_SENTINELS) !== Boolean(env.REDIS_SENTINEL_NAME)) {
    problems.push({
      path: env.REDIS_SENTINELS ? 'REDIS_SENTINEL_NAME' : 'REDIS_SENTINELS',
      message: 'REDIS_SENTINELS and REDIS_SENTINEL_NAME go together: the sentinels, and the name they monitor the primary under',
    });
  }
  return problems;
}
