import type { Result } from 'ioredis';
import type { RedisClient } from '../config/redis-target';
import type { Logger } from 'pino';
import { AppError } from '../errors/app-error';
import { deadlineBucketKey, deadlineIndexBuckets, nodeRegistryKey, nodeRoomsKey } from '../live-state/redis-keys';
import type { HeldConnection } from '../rooms/room-runtime.types';
import type { RoomCommand } from '../rooms/room-router';
import { parseConnectionId } from '../live-state/connection-ids';

/**
 * What the cluster's upkeep needs from its node. The router's parts come in as functions, so
 * this module knows nothing of routing or claims: every repair is a command sent through
 * `dispatch`, which routes, claims and retries like any other.
 */
export interface ClusterMaintenanceDeps {
  redis: RedisClient;
  prefix: string;
  nodeId: string;
  logger: Logger;
  /** The heartbeat key's TTL: a node silent longer than this (plus some slack) is dead. */
  heartbeatTtlMs: number;
  /** Whether the router still takes commands; while it hands its rooms off, nothing runs. */
  isRunning(): boolean;
  /** Sends a room a command through the cluster's router. */
  dispatch(roomCode: string, command: RoomCommand): Promise<unknown>;
  /** The connections recorded in the rooms running on this node. */
  connections(): HeldConnection[];
  /** Whether a socket id is connected to this node. */
  isLocalSocket(socketId: string): boolean;
  /** Whether each of these nodes is alive (in the same order). */
  alive(nodeIds: readonly string[]): Promise<boolean[]>;
  /** Whether this node's own lease has held for `ms` (heartbeat.ts `steadyFor`). */
  steadyFor(ms: number): boolean;
}

export interface ClusterMaintenance {
  /** Arms the connection sweep and the overdue-deadline poller. */
  start(): void;
  /** Stops both; work already started finishes as the router's own commands. */
  close(): void;
}

/** How often the sockets recorded in this node's rooms are checked against the live nodes. */
const sweepEveryMs = 1000;
/** How often this node looks for rooms whose deadline nobody ran. */
const overduePollEveryMs = 1000;
/** A deadline this late was not run by its owner's timer (the owner died or handed the room off). */
const overdueAfterMs = 2000;
/** A node silent this long past its heartbeat's TTL is dead for certain; its rooms are adopted. */
const deadNodeSlackMs = 1000;

/** Removes a room from the deadline index if its score is still the one that was read. */
const dropIndexEntryScript = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    dropIndexEntry(key: string, roomCode: string, score: string): Result<number, Context>;
  }
}

/**
 * The cluster's upkeep (docs/scaling.md "How rooms run in a cluster"): what no single command does when a node dies or a room
 * is left without an owner. Each node runs it for the whole cluster; every repair is an
 * idempotent room command, so two nodes doing the same one is harmless.
 */
export function createClusterMaintenance(deps: ClusterMaintenanceDeps): ClusterMaintenance {
  const { redis, prefix, nodeId, logger, dispatch } = deps;
  let sweeper: NodeJS.Timeout | undefined;
  /**
   * Whether a node missing from Redis is dead, rather than not yet back from the outage this node
   * just came back from: after Redis was unreachable, paused or emptied, every node's heartbeat
   * key is gone until its next beat, and their sockets and rooms are fine.
   */
  const othersJudgeable = () => deps.steadyFor(deps.heartbeatTtlMs + deadNodeSlackMs);
  let overduePoller: NodeJS.Timeout | undefined;

  /**
   * Sockets recorded in this node's rooms whose node died, or which this node no longer has,
   * are detached, as their own disconnect would have done (their users get the reconnect grace).
   */
  async function sweepConnections(): Promise<void> {
    // Grouped by the node holding each socket: one liveness check per node, not per socket.
    const byNode = new Map<string, (HeldConnection & { socketId: string })[]>();
    for (const connection of deps.connections()) {
      const { nodeId: holder, socketId } = parseConnectionId(connection.connectionId);
      if (holder === null) continue;
      let group = byNode.get(holder);
      if (!group) byNode.set(holder, (group = []));
      group.push({ ...connection, socketId });
    }
    // Other nodes are judged only once they have had time to beat since this node's last outage.
    const others = othersJudgeable() ? [...byNode.keys()].filter((node) => node !== nodeId) : [];
    const alive = await deps.alive(others);
    // Asked again: the answer may come from after an outage (a paused Redis answers late).
    const dead = othersJudgeable() ? others.filter((_, i) => !alive[i]) : [];
    const stale = [...(byNode.get(nodeId) ?? []).filter((c) => !deps.isLocalSocket(c.socketId)), ...dead.flatMap((node) => byNode.get(node) ?? [])];
    for (const { roomCode, userId, connectionId } of stale) {
      dispatch(roomCode, { type: 'detach', userId, connectionId }).catch((error: unknown) =>
        logger.warn({ err: error, room_code: roomCode, user_id: userId }, 'detaching a stale connection failed'),
      );
    }
  }

  /**
   * Rooms nobody runs any more (their owner died, or handed them off and nobody has used them
   * since) still have deadlines: a reconnect grace, the empty-room timeout. Every write keeps
   * each room's earliest deadline in `rooms:deadlines:{n}`; any node that finds one overdue sends the
   * room `expire`, which takes the room over if it has no live owner. An entry that the room
   * itself does not act on (nothing was due after all) is dropped, so it is not retried forever.
   */
  async function runOverdueDeadlines(): Promise<void> {
    const overdueBy = Date.now() - overdueAfterMs;
    for (let bucket = 0; bucket < deadlineIndexBuckets; bucket++) {
      const index = deadlineBucketKey(prefix, bucket);
      const due = await redis.zrangebyscore(index, '-inf', overdueBy, 'WITHSCORES', 'LIMIT', 0, 20);
      for (let i = 0; i < due.length; i += 2) {
        const roomCode = due[i]!;
        const settled = await dispatch(roomCode, { type: 'expire' }).then(
          () => true,
          (error: unknown) => {
            if (error instanceof AppError && error.code === 'ROOM_NOT_FOUND') return true;
            logger.warn({ err: error, room_code: roomCode }, 'overdue room deadline failed');
            return false;
          },
        );
        if (settled) await redis.dropIndexEntry(index, roomCode, due[i + 1]!);
      }
    }
  }

  /**
   * The rooms of a node that died are adopted as a whole: nodes beat into the `{cluster}:nodes` registry,
   * and whichever node finds one silent for longer than the heartbeat's TTL takes its rooms from
   * its `node:{id}:rooms` index (SPOP, so two adopters share them out) and sends each `expire`,
   * which claims it here. That covers a room whose users were all connected to the dead node
   * and none came back: it has no deadline yet, until the sweep detaches those sockets.
   */
  async function adoptRoomsOfDeadNodes(): Promise<void> {
    if (!othersJudgeable()) return;
    const dead = await redis.zrangebyscore(nodeRegistryKey(prefix), '-inf', Date.now() - deps.heartbeatTtlMs - deadNodeSlackMs, 'LIMIT', 0, 10);
    for (const node of dead) {
      // Asked again before each node: the answer may come from after an outage.
      if (node === nodeId || !othersJudgeable()) continue;
      for (;;) {
        const rooms = await redis.spop(nodeRoomsKey(prefix, node), 50);
        await Promise.all(
          rooms.map((roomCode) =>
            dispatch(roomCode, { type: 'expire' }).catch((error: unknown) =>
              logger.warn({ err: error, room_code: roomCode, dead_node: node }, 'adopting a room failed'),
            ),
          ),
        );
        if (rooms.length < 50) break;
      }
      await redis.zrem(nodeRegistryKey(prefix), node);
      logger.info({ dead_node: node, component: 'cluster' }, 'adopted the rooms of a dead node');
    }
  }

  // Defined once per connection: every router on it shares the script.
  if (typeof redis.dropIndexEntry !== 'function') redis.defineCommand('dropIndexEntry', { numberOfKeys: 1, lua: dropIndexEntryScript });

  return {
    start() {
      if (sweeper) return;
      // Unref'd: the upkeep alone must not keep the process alive.
      // While Redis is unreachable there is nothing to sweep or adopt, and its connection has
      // already logged the outage once: no warning a second.
      sweeper = setInterval(() => {
        if (deps.isRunning() && redis.status === 'ready')
          sweepConnections().catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'connection sweep failed'));
      }, sweepEveryMs);
      sweeper.unref();
      overduePoller = setInterval(() => {
        if (!deps.isRunning() || redis.status !== 'ready') return;
        runOverdueDeadlines().catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'overdue deadline poll failed'));
        adoptRoomsOfDeadNodes().catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'adopting rooms of dead nodes failed'));
      }, overduePollEveryMs);
      overduePoller.unref();
    },

    close() {
      clearInterval(sweeper);
      clearInterval(overduePoller);
      sweeper = overduePoller = undefined;
    },
  };
}
