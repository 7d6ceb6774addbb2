import type { Redis } from 'ioredis';
import { createNodeMembership } from './cluster/node-membership';
import { createRedisRoomRouter, type RedisRoomRouter } from './cluster/redis-room-router';
import { unfenced } from './live-state/fencing';
import type { LiveStateStore } from './live-state/live-state';
import { createRedisLiveStateStore } from './live-state/redis-live-state';
import { createInProcessRouter } from './rooms/in-process-router';
import type { RoomRouter } from './rooms/room-router';
import { createRoomRuntime, type RoomRuntimeDeps } from './rooms/room-runtime';

/**
 * The rooms of one node, as the composition root (app.ts) builds them: one room runtime, and
 * the router in front of it. On a single node the router runs every command on the runtime; in
 * a cluster the node's membership (heartbeat, ownership, claims) comes first, the runtime writes
 * under its claims, and the Redis router maps each room to its owner and runs the ones owned here
 * on the same runtime. Either way a due deadline goes back in through the router as `expire`.
 */
export type RoomsDeps = Omit<RoomRuntimeDeps, 'fence' | 'liveState' | 'expire' | 'onUnload'>;

export function createSingleNodeRooms(deps: RoomsDeps & { liveState: LiveStateStore }): RoomRouter {
  const runtime = createRoomRuntime({
    ...deps,
    fence: unfenced,
    expire: (roomCode) => router.dispatch(roomCode, { type: 'expire' }),
    onUnload: () => undefined,
  });
  const router = createInProcessRouter(runtime, deps.logger);
  return router;
}

export interface ClusterRoomsDeps extends RoomsDeps {
  /** Commands, live state, ownership, heartbeat and replies. */
  redis: Redis;
  /** A second connection, for receiving forwarded commands and replies (subscriber mode). */
  subscriber: Redis;
  prefix: string;
  nodeId: string;
  liveStateTtlMs: number;
  /** Whether a socket id is connected to this node (its stale connections are detached). */
  isLocalSocket(socketId: string): boolean;
}

export function createClusterRooms(deps: ClusterRoomsDeps): RedisRoomRouter {
  const { redis, prefix, nodeId, logger } = deps;
  const membership = createNodeMembership(redis, { prefix, nodeId, logger });
  const { claims } = membership;
  const runtime = createRoomRuntime({
    ...deps,
    fence: claims,
    liveState: createRedisLiveStateStore(redis, { prefix, ttlMs: deps.liveStateTtlMs, fenceOf: claims.fenceOf }),
    expire: (roomCode) => router.dispatch(roomCode, { type: 'expire' }),
    onUnload: claims.unloaded,
  });
  const router = createRedisRoomRouter({ membership, runtime, redis, subscriber: deps.subscriber, prefix, nodeId, logger, isLocalSocket: deps.isLocalSocket });
  return router;
}
