import type { Result } from 'ioredis';
import type { RedisClient } from '../config/redis-target';
import type { Logger } from 'pino';
import { clusterMarkerKey, nodeKey, nodeRegistryKey, nodeRoomsKey, restoringKey } from '../live-state/redis-keys';

/**
 * This node's liveness (docs/scaling.md "How rooms run in a cluster"): one key, `node:{node_id}`, rewritten with a short TTL a
 * few times per TTL, and the node's time in the `{cluster}:nodes` registry. Other nodes treat the node as
 * dead once the key has expired, and may then claim its rooms (and adopt those in its
 * `node:{node_id}:rooms` index); Redis work is two scripts per beat whatever the number of rooms
 * (one in the node's slot, one in the cluster's).
 *
 * The same beat is this node's lease on its claims: it may act as a room's owner only while
 * its own key cannot have expired yet (`valid()`). A node that was paused or cut off from Redis
 * longer than that drops its actors (`onLapse`) and claims again; fenced writes stop it from
 * writing in the meantime.
 *
 * The beat also tells when Redis lost its data (restarted empty, or a replica without the last
 * writes took over): the first beat on an empty Redis writes `{cluster}:marker`, and a node that
 * finds a marker other than the one it saw before knows every owner record and live key is gone.
 * The node that writes the new marker raises `{cluster}:restoring` for `restoreWindowMs`, during
 * which only their previous owners may claim rooms that have no owner record (ownership.ts).
 */
export interface Heartbeat {
  /** True while no other node can have seen this node's key expire. */
  valid(): boolean;
  /**
   * True once the lease has held for `ms` without a lapse (or a loss of Redis's data). Until then
   * other nodes may not have beaten since the same outage, so a missing key says nothing of them.
   */
  steadyFor(ms: number): boolean;
  /** Whether `{cluster}:restoring` stood at the last beat (and has not run out since). */
  restoring(): boolean;
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
  /**
   * Called after a beat that followed a lapse, or that found Redis had lost its data (`reset`):
   * the node may claim rooms again, and restore those whose live state Redis lost.
   */
  onResume(event: { reset: boolean }): void;
  /** How long `{cluster}:restoring` stays up once a node finds Redis empty. */
  restoreWindowMs: number;
  now?: () => number;
}

/** The room index outlives a node that dies by this much, for the others to adopt its rooms. */
const roomIndexTtlMs = 24 * 3600_000;

/** Slack for the time between our clock reading and Redis setting the expiry. */
const safetyMarginMs = 100;

/** KEYS: this node's heartbeat and room index. ARGV: the pid, the TTL, the room index's TTL. */
const beatScript = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

/**
 * KEYS: the registry, the marker, the restoring flag (the cluster's keys, one slot). ARGV: the
 * time of the beat, this node's id, '1' if this node saw a marker before, the restore window.
 * Returns the marker and how long the restoring flag has left (ms; negative when there is none).
 */
const registerScript = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local marker = redis.call('GET', KEYS[2])
if not marker then
  marker = ARGV[2] .. '@' .. ARGV[1]
  redis.call('SET', KEYS[2], marker)
  if ARGV[3] == '1' then redis.call('SET', KEYS[3], marker, 'PX', ARGV[4]) end
end
return {marker, redis.call('PTTL', KEYS[3])}
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    beat(heartbeatKey: string, roomIndexKey: string, pid: string, ttlMs: string, roomIndexTtlMs: string): Result<number, Context>;
    register(
      registryKey: string,
      markerKey: string,
      restoringKey: string,
      sentAt: string,
      nodeId: string,
      sawMarker: '0' | '1',
      restoreWindowMs: string,
    ): Result<[marker: string, restoringMs: number], Context>;
  }
}

export function createHeartbeat(redis: RedisClient, options: HeartbeatOptions): Heartbeat {
  const { nodeId, prefix, ttlMs, everyMs, logger } = options;
  const key = nodeKey(prefix, nodeId);
  const now = options.now ?? Date.now;
  let validUntil = 0;
  let lapsed = true;
  /** When the lease last started holding again. */
  let steadySince = 0;
  /** The marker this node last saw; undefined before its first beat. */
  let marker: string | undefined;
  let inFlight = false;
  let timer: NodeJS.Timeout | undefined;
  /** Until when the restoring flag stood at the last beat. */
  let restoringUntil = 0;
  if (typeof redis.beat !== 'function') {
    redis.defineCommand('beat', { numberOfKeys: 2, lua: beatScript });
    redis.defineCommand('register', { numberOfKeys: 3, lua: registerScript });
  }

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
    // The node's own keys and the cluster's are in different slots: two scripts, sent together.
    const [, [seen, restoringMs]] = await Promise.all([
      redis.beat(key, nodeRoomsKey(prefix, nodeId), String(process.pid), String(ttlMs), String(roomIndexTtlMs)),
      redis.register(
        nodeRegistryKey(prefix),
        clusterMarkerKey(prefix),
        restoringKey(prefix),
        String(sentAt),
        nodeId,
        marker === undefined ? '0' : '1',
        String(options.restoreWindowMs),
      ),
    ]);
    // A beat that waited out an outage in the connection's queue is no lease: the key it wrote
    // may have expired already. The next beat takes it from here (and sees the same marker).
    if (now() >= sentAt + ttlMs - safetyMarginMs) return;
    const reset = marker !== undefined && seen !== marker;
    const resumed = lapsed && marker !== undefined;
    marker = seen;
    restoringUntil = restoringMs > 0 ? sentAt + restoringMs : 0;
    validUntil = sentAt + ttlMs - safetyMarginMs;
    if (lapsed || reset) steadySince = sentAt;
    lapsed = false;
    if (reset) logger.warn({ component: 'cluster' }, 'Redis lost its data: restoring the live state of the rooms held here');
    if (reset || resumed) options.onResume({ reset });
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
    steadyFor: (ms) => valid() && now() - steadySince >= ms,
    restoring: () => now() < restoringUntil,
    async start() {
      await beat();
      timer = setInterval(tick, everyMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      validUntil = 0;
      lapsed = true;
      if (redis.status === 'ready')
        await Promise.all([redis.del(key, nodeRoomsKey(prefix, nodeId)), redis.zrem(nodeRegistryKey(prefix), nodeId)]).catch((error: unknown) =>
          logger.warn({ err: error, component: 'cluster' }, 'could not delete heartbeat'),
        );
    },
  };
}
