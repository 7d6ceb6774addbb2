import type { RedisClient } from '../config/redis-target';
import type { Logger } from 'pino';
import { createHeartbeat, type Heartbeat } from './heartbeat';
import { createNodeClaims, type NodeClaims } from './node-claims';
import { createOwnership, type Ownership } from './ownership';

/** Liveness: a node whose key is this old is dead to the others (docs/scaling.md "Failover, measured": kill → ≤ 3 s). */
export const heartbeatTtlMs = 1500;
const heartbeatEveryMs = 300;
/**
 * After Redis lost its data, how long rooms without an owner record wait for their previous
 * owners to restore them (heartbeat.ts): long enough for every node to reconnect and beat.
 */
const restoreWindowMs = 3000;

/** What the node does when its lease lapses and when it holds again (the router's say). */
export interface MembershipListener {
  lapsed(): void;
  /** `reset`: RedisClient lost its data, so every claim went with it. */
  resumed(event: { reset: boolean }): void;
}

/**
 * This node's standing in the cluster, built before its room runtime, which writes under its
 * claims: the heartbeat (its lease), who owns which room (ownership.ts), and the claims this
 * node holds (node-claims.ts: the runtime's fence). Claims are void from the moment the lease
 * lapses or Redis loses its data; what else happens then is the router's, told through `listen`.
 */
export interface NodeMembership {
  heartbeat: Heartbeat;
  ownership: Ownership;
  claims: NodeClaims;
  /** Sets the one listener of the lease's lapses and returns. */
  listen(listener: MembershipListener): void;
}

export function createNodeMembership(redis: RedisClient, options: { prefix: string; nodeId: string; logger: Logger }): NodeMembership {
  const { prefix, nodeId, logger } = options;
  let listener: MembershipListener = { lapsed: () => undefined, resumed: () => undefined };
  const heartbeat = createHeartbeat(redis, {
    nodeId,
    prefix,
    ttlMs: heartbeatTtlMs,
    everyMs: heartbeatEveryMs,
    logger,
    restoreWindowMs,
    onLapse() {
      claims.clear();
      listener.lapsed();
    },
    onResume(event) {
      // Redis lost every claim with its data: what this node remembers of them goes.
      if (event.reset) claims.clear();
      listener.resumed(event);
    },
  });
  const ownership = createOwnership(redis, { prefix, nodeId, lease: heartbeat });
  const claims = createNodeClaims(ownership, { leaseValid: () => heartbeat.valid(), logger });
  return { heartbeat, ownership, claims, listen: (next) => void (listener = next) };
}
