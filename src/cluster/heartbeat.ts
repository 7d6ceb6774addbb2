import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { nodeKey, nodeRegistryKey, nodeRoomsKey } from '../live-state/redis-keys';

/**
 * This node's liveness (README "Scaling out"): one key, `node:{node_id}`, rewritten with a short TTL a
 * few times per TTL, and the node's time in the `nodes` registry. Other nodes treat the node as
 * dead once the key has expired, and may then claim its rooms (and adopt those in its
 * `node:{node_id}:rooms` index); Redis work is one transaction per beat whatever the number of rooms.
 *
 * The same beat is this node's lease on its claims: it may act as a room's owner only while
 * its own key cannot have expired yet (`valid()`). A node that was paused or cut off from Redis
 * longer than that drops its actors (`onLapse`) and claims again; fenced writes stop it from
 * writing in the meantime.
 */
export interface Heartbeat {
  /** True while no other node can have seen this node's key expire. */
  valid(): boolean;
  /** Writes the first beat and keeps beating. */
  start(): Promise<void>;
  /** Stops beating and deletes the key, so other nodes take over at once. */
  stop(): Promise<void>;
}

export interface HeartbeatOptions {
  nodeId: string;
  prefix: string;
  ttlMs: number;
  everyMs: number;
  logger: Logger;
  /** Called once each time the lease runs out. */
  onLapse(): void;
  now?: () => number;
}

/** The room index outlives a node that dies by this much, for the others to adopt its rooms. */
const roomIndexTtlMs = 24 * 3600_000;

/** Slack for the time between our clock reading and Redis setting the expiry. */
const safetyMarginMs = 100;

export function createHeartbeat(redis: Redis, options: HeartbeatOptions): Heartbeat {
  const { nodeId, prefix, ttlMs, everyMs, logger } = options;
  const key = nodeKey(prefix, nodeId);
  const now = options.now ?? Date.now;
  let validUntil = 0;
  let lapsed = true;
  let inFlight = false;
  let timer: NodeJS.Timeout | undefined;

  const valid = () => {
    const ok = now() < validUntil;
    if (!ok && !lapsed) {
      lapsed = true;
      logger.warn({ component: 'cluster' }, 'heartbeat lease ran out: dropping room claims');
      options.onLapse();
    }
    return ok;
  };

  async function beat(): Promise<void> {
    // The expiry Redis sets runs from when it receives the command, which is after this reading.
    const sentAt = now();
    const results = await redis
      .multi()
      .set(key, String(process.pid), 'PX', ttlMs)
      .zadd(nodeRegistryKey(prefix), sentAt, nodeId)
      .pexpire(nodeRoomsKey(prefix, nodeId), roomIndexTtlMs)
      .exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('heartbeat transaction aborted');
    validUntil = sentAt + ttlMs - safetyMarginMs;
    lapsed = false;
  }

  const tick = () => {
    valid();
    if (inFlight) return;
    inFlight = true;
    beat()
      .catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'heartbeat failed'))
      .finally(() => {
        inFlight = false;
      });
  };

  return {
    valid,
    async start() {
      await beat();
      timer = setInterval(tick, everyMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      validUntil = 0;
      lapsed = true;
      if (redis.status === 'ready') await redis.multi().del(key, nodeRoomsKey(prefix, nodeId)).zrem(nodeRegistryKey(prefix), nodeId).exec().catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'could not delete heartbeat'));
    },
  };
}
