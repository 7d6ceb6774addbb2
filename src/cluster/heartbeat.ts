import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * This node's liveness (DESIGN.md §9): one key, `node:{node_id}`, rewritten with a short TTL a
 * few times per TTL. Other nodes treat the node as dead once the key has expired, and may then
 * claim its rooms; Redis work is one SET per beat whatever the number of rooms.
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
  key: string;
  ttlMs: number;
  everyMs: number;
  logger: Logger;
  /** Called once each time the lease runs out. */
  onLapse(): void;
  now?: () => number;
}

/** Slack for the time between our clock reading and Redis setting the expiry. */
const safetyMarginMs = 100;

export function createHeartbeat(redis: Redis, options: HeartbeatOptions): Heartbeat {
  const { key, ttlMs, everyMs, logger } = options;
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
    await redis.set(key, String(process.pid), 'PX', ttlMs);
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
      if (redis.status === 'ready') await redis.del(key).catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'could not delete heartbeat'));
    },
  };
}
