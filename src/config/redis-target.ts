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
