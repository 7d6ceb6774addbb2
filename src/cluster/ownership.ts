import type { Redis, Result } from 'ioredis';
import type { Fence } from '../live-state/fencing';
import { nodeKey, nodeRoomsKey, ownerKey, restoringKey } from '../live-state/redis-keys';

/**
 * Which node runs each room's actor (docs/scaling.md "How rooms run in a cluster"). The record `room:{code}:owner` holds the
 * owner's node id and an epoch; a node claims a room when the record names nobody, a node whose
 * heartbeat is gone, or itself. Each new claim takes a larger epoch (the previous one plus one,
 * or Redis's clock in microseconds if that is larger, so epochs grow even across a deleted
 * record, which PostgreSQL's fence relies on), and every live-state write
 * checks node and epoch in the same script (redis-live-state.ts), so a node that lost a room
 * cannot write to it even if it does not know yet. Claims are atomic Lua scripts: two nodes
 * racing for a room both get the same answer.
 */
export interface Ownership {
  /**
   * Claims the room for this node unless a live node owns it; answers the owner either way.
   * Fails with NodeNotAliveError while this node's own heartbeat is missing, and with
   * RestoringError for a room without an owner record while Redis is being restored (heartbeat.ts),
   * unless `previousOwner`: this node held the room before Redis lost its data and restores it.
   */
  claim(roomCode: string, previousOwner?: boolean): Promise<Fence>;
  /** Gives the room up if this claim still holds it (a SIGTERM hand-off); the epoch stays. */
  release(roomCode: string, fence: Fence): Promise<boolean>;
  /** Deletes the record if this claim still holds it: the room has ended or does not exist. */
  retire(roomCode: string, fence: Fence): Promise<boolean>;
  /** Whether these nodes' heartbeats exist, in the same order. */
  alive(nodeIds: readonly string[]): Promise<boolean[]>;
}

/** How long a claim lasts when nothing is written to the room (writes and refreshes extend it). */
const claimTtlMs = 60_000;

/** A claim that cannot be made now but can in a moment: the caller waits a little and tries again. */
export class ClaimDeferredError extends Error {}

export class NodeNotAliveError extends ClaimDeferredError {
  constructor() {
    super('this node has no heartbeat in Redis; it may not claim rooms');
    this.name = 'NodeNotAliveError';
  }
}

export class RestoringError extends ClaimDeferredError {
  constructor() {
    super('Redis lost its data: the rooms go back to their previous owners first');
    this.name = 'RestoringError';
  }
}

/**
 * KEYS[1]: the owner record, KEYS[2]: this node's heartbeat, KEYS[3]: this node's room index,
 * KEYS[4]: the restoring flag. ARGV: this node's id, the prefix of heartbeat keys, the record's
 * TTL in ms (never shortened: live-state writes extend it to the live state's TTL, so a claim
 * that writes nothing, e.g. a read of an ended room, expires soon), the room code, '1' when this
 * node is the room's previous owner restoring it. Returns {node, epoch} of the owner after
 * the call. While the restoring flag exists, a room with no record at all may have lost it with
 * the rest of Redis: only its previous owner, which holds the room's live state in memory, takes
 * it. A new claim moves the room from the previous owner's room index to this node's.
 * The current owner's heartbeat key is derived from its id here (this server does not run on
 * Redis Cluster, where every key would have to be declared).
 */
const claimScript = `
if redis.call('EXISTS', KEYS[2]) == 0 then
  return redis.error_reply('NOT_ALIVE no heartbeat')
end
local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch')
if owner[1] and owner[1] ~= '' and (owner[1] == ARGV[1] or redis.call('EXISTS', ARGV[2] .. owner[1]) == 1) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3], 'GT')
  return {owner[1], owner[2]}
end
if not owner[1] and ARGV[5] ~= '1' and redis.call('EXISTS', KEYS[4]) == 1 then
  return redis.error_reply('RESTORING Redis lost its data')
end
-- Epochs never go back, even when the record expired or was deleted: at least Redis's clock in µs.
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
if epoch < now then
  epoch = now
  redis.call('HSET', KEYS[1], 'epoch', string.format('%.0f', epoch))
end
redis.call('HSET', KEYS[1], 'node', ARGV[1])
if redis.call('PEXPIRE', KEYS[1], ARGV[3], 'GT') == 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
if owner[1] and owner[1] ~= '' then
  redis.call('SREM', ARGV[2] .. owner[1] .. ':rooms', ARGV[4])
end
redis.call('SADD', KEYS[3], ARGV[4])
return {ARGV[1], string.format('%.0f', epoch)}
`;

/**
 * KEYS[1]: the owner record, KEYS[2]: the node's room index. ARGV: node id, epoch, 'release'
 * (clear the node, keep the epoch counting) or 'retire' (delete the record), the room code.
 * Does nothing unless the claim still holds.
 */
const releaseScript = `
local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch')
if owner[1] ~= ARGV[1] or owner[2] ~= ARGV[2] then
  return 0
end
redis.call('SREM', KEYS[2], ARGV[4])
if ARGV[3] == 'retire' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'node', '')
end
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    claimRoom(
      ownerKey: string,
      heartbeatKey: string,
      roomIndexKey: string,
      restoringKey: string,
      nodeId: string,
      heartbeatPrefix: string,
      ttlMs: number,
      roomCode: string,
      previousOwner: '1' | '',
    ): Result<[string, string], Context>;
    releaseRoom(ownerKey: string, roomIndexKey: string, nodeId: string, epoch: string, mode: 'release' | 'retire', roomCode: string): Result<number, Context>;
  }
}

export function createOwnership(redis: Redis, options: { prefix: string; nodeId: string }): Ownership {
  const { prefix, nodeId } = options;
  if (typeof redis.claimRoom !== 'function') {
    redis.defineCommand('claimRoom', { numberOfKeys: 4, lua: claimScript });
    redis.defineCommand('releaseRoom', { numberOfKeys: 2, lua: releaseScript });
  }
  return {
    async claim(roomCode, previousOwner = false) {
      try {
        const keys = [ownerKey(prefix, roomCode), nodeKey(prefix, nodeId), nodeRoomsKey(prefix, nodeId), restoringKey(prefix)] as const;
        const [node, epoch] = await redis.claimRoom(...keys, nodeId, nodeKey(prefix, ''), claimTtlMs, roomCode, previousOwner ? '1' : '');
        return { node, epoch: Number(epoch) };
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('NOT_ALIVE')) throw new NodeNotAliveError();
        if (error instanceof Error && error.message.startsWith('RESTORING')) throw new RestoringError();
        throw error;
      }
    },
    async release(roomCode, fence) {
      return (
        (await redis.releaseRoom(ownerKey(prefix, roomCode), nodeRoomsKey(prefix, fence.node), fence.node, String(fence.epoch), 'release', roomCode)) === 1
      );
    },
    async retire(roomCode, fence) {
      return (await redis.releaseRoom(ownerKey(prefix, roomCode), nodeRoomsKey(prefix, fence.node), fence.node, String(fence.epoch), 'retire', roomCode)) === 1;
    },
    async alive(nodeIds) {
      if (nodeIds.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of nodeIds) pipeline.exists(nodeKey(prefix, id));
      const results = (await pipeline.exec()) ?? [];
      return results.map(([error, count]) => {
        if (error) throw error;
        return count === 1;
      });
    },
  };
}
