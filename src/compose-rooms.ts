import type { RedisClient } from './config/redis-target';
import { createNodeMembership } from './cluster/node-membership';
import { createRedisRoomRouter, type RedisRoomRouter, type RedisRoomRouterDeps } from './cluster/redis-room-router';
import { unfenced } from './live-state/fencing';
import type { LiveStateStore } from './live-state/live-state';
import { createRedisLiveStateStore } from './live-state/redis-live-state';
import { createInProcessRouter } from './rooms/in-process-router';
import type { RoomRouter } from './rooms/room-router';
import { createRoomRuntime } from './rooms/room-runtime';
import type { RoomRuntimeDeps } from './rooms/room-runtime.types';
import { createRoomStore, type RoomStoreDeps } from './rooms/room-store';

/**
 * The rooms of one node, as the composition root (app.ts) builds them: one room runtime, and
 * the router in front of it. On a single node the router runs every command on the runtime; in
 * a cluster the node's membership (heartbeat, ownership, claims) comes first, the runtime writes
 * under its claims, and the Redis router maps each room to its owner and runs the ones owned here
 * on the same runtime. Either way a due deadline goes back in through the router as `expire`.
 */
export type RoomsDeps = Omit<RoomRuntimeDeps, 'store' | 'expire' | 'onUnload'> & Pick<RoomStoreDeps, 'repository' | 'outbox'>;

/** The runtime over its store; `expire` and `onUnload` are the router's side. */
function runtimeOver(deps: RoomsDeps, stores: Pick<RoomStoreDeps, 'liveState' | 'fence'>, edges: Pick<RoomRuntimeDeps, 'expire' | 'onUnload'>) {
  const now = deps.now ?? Date.now;
  const store = createRoomStore({ ...stores, repository: deps.repository, outbox: deps.outbox, timings: deps.timings, logger: deps.logger, now });
  return createRoomRuntime({ ...deps, ...edges, store });
}

export function createSingleNodeRooms(deps: RoomsDeps & { liveState: LiveStateStore }): RoomRouter {
  const runtime = runtimeOver(
    deps,
    { liveState: deps.liveState, fence: unfenced },
    { expire: (roomCode) => router.dispatch(roomCode, { type: 'expire' }), onUnload: () => undefined },
  );
  const router = createInProcessRouter(runtime, deps.logger);
  return router;
}

export interface ClusterRoomsDeps extends RoomsDeps {
  /** Commands, live state, ownership, heartbeat and replies. */
  redis: RedisClient;
  /** A second connection, for receiving forwarded commands and replies (subscriber mode). */
  subscriber: RedisClient;
  prefix: string;
  nodeId: string;
  liveStateTtlMs: number;
  /** Whether a socket id is connected to this node (its stale connections are detached). */
  isLocalSocket(socketId: string): boolean;
  /** Moves sockets of this node into or out of a channel, when another node asks. */
  applyMove: RedisRoomRouterDeps['applyMove'];
}

export function createClusterRooms(deps: ClusterRoomsDeps): RedisRoomRouter {
  const { redis, prefix, nodeId, logger } = deps;
  const membership = createNodeMembership(redis, { prefix, nodeId, logger });
  const { claims } = membership;
  const runtime = runtimeOver(
    deps,
    { liveState: createRedisLiveStateStore(redis, { prefix, ttlMs: deps.liveStateTtlMs, fenceOf: claims.fenceOf }), fence: claims },
    { expire: (roomCode) => router.dispatch(roomCode, { type: 'expire' }), onUnload: claims.unloaded },
  );
  const router = createRedisRoomRouter({
    membership,
    runtime,
    redis,
    subscriber: deps.subscriber,
    prefix,
    nodeId,
    logger,
    isLocalSocket: deps.isLocalSocket,
    applyMove: deps.applyMove,
  });
  return router;
}
