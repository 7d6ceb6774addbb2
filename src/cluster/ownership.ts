import type { Result } from 'ioredis';
import type { RedisClient } from '../config/redis-target';
import type { Fence } from '../live-state/fencing';
import { nodeKey, nodeRoomsKey, ownerKey } from '../live-state/redis-keys';

/**
 * Which node runs each room's actor (docs/scaling.md "How rooms run in a cluster"). The record `room:{code}:owner` holds the
 * owner's node id and an epoch; a node claims a room when the record names nobody, a node whose
 * heartbeat is gone, or itself. Each new claim takes a larger epoch (the previous one plus one,
 * or Redis's clock in microseconds if that is larger, so epochs grow even across a deleted
 * record, which PostgreSQL's fence relies on), and every live-state write
 * checks node and epoch in the same script (redis-live-state.ts), so a node that lost a room
 * cannot write to it even if it does not know yet. Claims are atomic Lua scripts on the room's
 * record alone: two nodes racing for a room both get the same answer. Whether the owner a
 * record names is alive is a second command (its heartbeat is in another slot); the claim that
 * follows takes the room only if the record still names that dead owner's claim.
 */
export interface Ownership {
  /**
   * Claims the room for this node unless a live node owns it; answers the owner either way.
   * Fails with NodeNotAliveError while this node's own heartbeat lease has lapsed, and with
   * RestoringError for a room without an owner record while Redis is being restored (heartbeat.ts),
   * unless `previousOwner`: this node held the room before Redis lost its data and restores it.
   * With `trustRecord`, a record naming another node is answered as it stands, without asking
   * whether that node lives (a command sent there finds out at once if it does not).
   */
  claim(roomCode: string, options?: { previousOwner?: boolean; trustRecord?: boolean }): Promise<Fence>;
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
    super("this node's heartbeat lease has lapsed; it may not claim rooms");
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
 * KEYS[1]: the owner record. ARGV: this node's id, the record's TTL in ms (never shortened:
 * live-state writes extend it to the live state's TTL, so a claim that writes nothing, e.g. a
 * read of an ended room, expires soon), '1' when a room with no record at all may not be taken
 * (Redis is being restored and this node is not the room's previous owner), and the node and
 * epoch of an owner the caller found dead (or ''). Returns {node, epoch, taken}: the owner after
 * the call, and the node this call took the room from ('' when it took nobody's), or false when
 * it made no new claim. A record naming another node is left alone unless the caller names that
 * very claim as dead: liveness is in another slot (the owner's heartbeat), so the caller checks
 * it and comes back, and a claim that changed meanwhile is not taken.
 */
const claimScript = `
local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch')
if owner[1] == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2], 'GT')
  return {owner[1], owner[2], false}
end
if owner[1] and owner[1] ~= '' and not (owner[1] == ARGV[4] and owner[2] == ARGV[5]) then
  return {owner[1], owner[2], false}
end
if not owner[1] and ARGV[3] == '1' then
  return redis.error_reply('RESTORING Redis lost its data')
end
-- Epochs never go back, even when the record expired or was deleted: at least Redis's clock in µs.
local epoch = (tonumber(owner[2]) or 0) + 1
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
if epoch < now then epoch = now end
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', string.format('%.0f', epoch))
-- Never shortened (a record without a TTL, PTTL -1, gets one).
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {ARGV[1], string.format('%.0f', epoch), owner[1] or ''}
`;

/**
 * KEYS[1]: the owner record. ARGV: node id, epoch, 'release' (clear the node, keep the epoch
 * counting) or 'retire' (delete the record). Does nothing unless the claim still holds.
 */
const releaseScript = `
local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch')
if owner[1] ~= ARGV[1] or owner[2] ~= ARGV[2] then
  return 0
end
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
      nodeId: string,
      ttlMs: number,
      refuseUnrecorded: '1' | '',
      deadNode: string,
      deadEpoch: string,
    ): Result<[node: string, epoch: string, taken: string | null], Context>;
    releaseRoom(ownerKey: string, nodeId: string, epoch: string, mode: 'release' | 'retire'): Result<number, Context>;
  }
}

/** What a claim needs to know of this node's heartbeat (heartbeat.ts). */
export interface ClaimLease {
  /** Whether this node's heartbeat still stands: only then may it claim. */
  valid(): boolean;
  /** Whether Redis was being restored at the last beat: rooms without a record wait for their previous owners. */
  restoring(): boolean;
}

/** A claim that finds its owner dead takes the room from it; a race lost this often gives up and lets the caller retry. */
const maxTakeovers = 3;

export function createOwnership(redis: RedisClient, options: { prefix: string; nodeId: string; lease: ClaimLease }): Ownership {
  const { prefix, nodeId, lease } = options;
  if (typeof redis.claimRoom !== 'function') {
    redis.defineCommand('claimRoom', { numberOfKeys: 1, lua: claimScript });
    redis.defineCommand('releaseRoom', { numberOfKeys: 1, lua: releaseScript });
  }

  async function alive(nodeIds: readonly string[]): Promise<boolean[]> {
    // One command per node: their keys are in different slots.
    return Promise.all(nodeIds.map(async (id) => (await redis.exists(nodeKey(prefix, id))) === 1));
  }

  /**
   * A new claim goes into this node's room index, so another node adopts the room if this one
   * dies, and leaves the index of the node it was taken from. A node that dies between the claim
   * and this leaves a room no index names; its next command, or a deadline, takes it over.
   */
  async function indexClaim(roomCode: string, takenFrom: string): Promise<void> {
    await Promise.all([
      redis.sadd(nodeRoomsKey(prefix, nodeId), roomCode),
      takenFrom && takenFrom !== nodeId ? redis.srem(nodeRoomsKey(prefix, takenFrom), roomCode) : undefined,
    ]);
  }

  async function giveUp(roomCode: string, fence: Fence, mode: 'release' | 'retire'): Promise<boolean> {
    const done = (await redis.releaseRoom(ownerKey(prefix, roomCode), fence.node, String(fence.epoch), mode)) === 1;
    if (done) await redis.srem(nodeRoomsKey(prefix, fence.node), roomCode);
    return done;
  }

  return {
    async claim(roomCode, { previousOwner = false, trustRecord = false } = {}) {
      if (!lease.valid()) {
        // Asked of Redis all the same, so an unreachable Redis fails the claim as an outage
        // (503 at once) rather than as a lapse that the caller retries until its deadline.
        await redis.exists(nodeKey(prefix, nodeId));
        throw new NodeNotAliveError();
      }
      const refuseUnrecorded = !previousOwner && lease.restoring() ? '1' : '';
      let dead: Fence | undefined;
      for (let attempt = 0; ; attempt++) {
        let answer: [string, string, string | null];
        try {
          answer = await redis.claimRoom(ownerKey(prefix, roomCode), nodeId, claimTtlMs, refuseUnrecorded, dead?.node ?? '', dead ? String(dead.epoch) : '');
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('RESTORING')) throw new RestoringError();
          throw error;
        }
        const [node, epoch, taken] = answer;
        const fence = { node, epoch: Number(epoch) };
        if (taken !== null) await indexClaim(roomCode, taken);
        if (node === nodeId || trustRecord || attempt === maxTakeovers) return fence;
        const [ownerAlive] = await alive([node]);
        if (ownerAlive) return fence;
        dead = fence;
      }
    },
    release: (roomCode, fence) => giveUp(roomCode, fence, 'release'),
    retire: (roomCode, fence) => giveUp(roomCode, fence, 'retire'),
    alive,
  };
}
