import type { ChainableCommander, Result } from 'ioredis';
import type { RedisClient } from '../config/redis-target';
import { StaleOwnerError, type Fence } from './fencing';
import type { LiveRoomState, LiveStateStore, MapChange } from './live-state';
import { parseConnections, parseDeadline, parseEntries, parseLobby, parseParticipant, serializeLobbyEntry, serializeParticipant } from './live-state-json';
import { allLiveStateKeys, deadlineIndexKey, liveStateKeys, ownerKey } from './redis-keys';

export interface RedisLiveStateOptions {
  prefix: string;
  ttlMs: number;
  /**
   * The fence of this node's claim on a room, or undefined when it holds none. When given,
   * every write and delete is fenced: it happens only while the room's owner record still names
   * this claim, and otherwise throws StaleOwnerError having written nothing.
   */
  fenceOf?: (roomCode: string) => Fence | undefined;
}

/**
 * The live-state store of a cluster: the keys of docs/operations.md "Redis keys" (see redis-keys.ts), written by
 * the node that owns the room and readable by any other service. Each call is one round trip.
 */
export function createRedisLiveStateStore(redis: RedisClient, options: RedisLiveStateOptions): LiveStateStore {
  const { prefix, ttlMs, fenceOf } = options;
  defineScripts(redis);

  return {
    async read(roomCode) {
      const keys = liveStateKeys(prefix, roomCode);
      // MULTI, not a plain pipeline, so the parts are one consistent snapshot.
      const results = await exec(
        redis
          .multi()
          .hgetall(keys.participants)
          .smembers(keys.lobby)
          .hgetall(keys.lobbyEntries)
          .get(keys.activeSpeaker)
          .hgetall(keys.deadlines)
          .hgetall(keys.connections)
          .hgetall(keys.knockCooldowns),
      );
      const [participants, lobby, lobbyEntries, activeSpeaker, deadlines, connections, knockCooldowns] = results as [
        Record<string, string>,
        string[],
        Record<string, string>,
        string | null,
        Record<string, string>,
        Record<string, string>,
        Record<string, string>,
      ];
      return {
        participants: parseEntries(participants, parseParticipant),
        lobby: parseLobby(lobby, lobbyEntries),
        activeSpeaker,
        deadlines: parseEntries(deadlines, parseDeadline),
        connections: parseEntries(connections, parseConnections),
        knockCooldowns: parseEntries(knockCooldowns, parseDeadline),
      } satisfies LiveRoomState;
    },

    async apply(roomCode, change) {
      const keys = liveStateKeys(prefix, roomCode);
      const ops: Op[] = [];
      writeHash(ops, keys.participants, change.participants, serializeParticipant);
      // The set says who waits; the hash beside it holds what we know about them.
      pushChunked(ops, 'SREM', keys.lobby, change.lobby?.delete ?? []);
      pushChunked(ops, 'SADD', keys.lobby, Object.keys(change.lobby?.set ?? {}));
      writeHash(ops, keys.lobbyEntries, change.lobby, serializeLobbyEntry);
      if (change.activeSpeaker === null) ops.push(['DEL', keys.activeSpeaker]);
      else if (change.activeSpeaker !== undefined) ops.push(['SET', keys.activeSpeaker, change.activeSpeaker]);
      writeHash(ops, keys.deadlines, change.deadlines, String);
      writeHash(ops, keys.connections, change.connections, (ids) => JSON.stringify(ids));
      writeHash(ops, keys.knockCooldowns, change.knockCooldowns, String);
      await write(roomCode, ops, ttlMs, change.deadlines ? 'reindex' : 'keep');
    },

    async refresh(roomCodes) {
      // One script per room: a room's keys share a slot, two rooms' keys may not (Redis Cluster).
      await Promise.all(roomCodes.map((roomCode) => redis.refreshRoom(1 + allLiveStateKeys(prefix, roomCode).length, ...roomKeys(roomCode), String(ttlMs))));
    },

    async schedule(roomCode, name, at) {
      const { deadlines } = liveStateKeys(prefix, roomCode);
      await Promise.all([
        exec(redis.pipeline().hset(deadlines, name, String(at)).pexpire(deadlines, ttlMs)),
        // The earlier of this and what is indexed already (LT): a deadline sooner is never pushed back.
        redis.zadd(deadlineIndexKey(prefix, roomCode), 'LT', at, roomCode),
      ]);
    },

    /** The room ended: its live keys go, and its owner record with them (after the fence check). */
    async delete(roomCode) {
      await write(
        roomCode,
        roomKeys(roomCode).map((key): Op => ['DEL', key]),
        null,
        'remove',
      );
    },
  };

  /** The room's owner record, then its live keys: every key of the room, in one slot. */
  function roomKeys(roomCode: string): string[] {
    return [ownerKey(prefix, roomCode), ...allLiveStateKeys(prefix, roomCode)];
  }

  /**
   * Runs the commands as one script: all or (when the fence no longer holds) none of them. A
   * command failing at run time (e.g. WRONGTYPE) aborts the rest, but what ran before it stays.
   * Then the room's entry in the deadline index follows what the script left: the index lives
   * in a slot of its own, so it is a second command. Until it lands the index may be behind,
   * which the index's readers allow for (cluster-maintenance.ts): a room whose owner dies in
   * between is found through its owner's room index instead.
   */
  async function write(roomCode: string, ops: Op[], ttl: number | null, deadlineIndex: 'keep' | 'reindex' | 'remove'): Promise<void> {
    let fence: Fence | undefined;
    if (fenceOf) {
      fence = fenceOf(roomCode);
      if (!fence) throw new StaleOwnerError(roomCode, 'this node holds no claim on it');
    }
    // The script sees keys by index: the owner record first, then the room's live keys.
    const keys = roomKeys(roomCode);
    const indexed = ops.map(([command, key, ...args]) => [command, keys.indexOf(key) + 1, ...args]);
    let earliest: string | null;
    try {
      earliest = await redis.fencedWrite(
        keys.length,
        ...keys,
        fence?.node ?? '',
        String(fence?.epoch ?? ''),
        ttl === null ? '' : String(ttl),
        JSON.stringify(indexed),
        deadlineIndex === 'reindex' ? String(keys.indexOf(liveStateKeys(prefix, roomCode).deadlines) + 1) : '',
      );
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('FENCED')) throw new StaleOwnerError(roomCode, error.message.slice('FENCED '.length));
      throw error;
    }
    const index = deadlineIndexKey(prefix, roomCode);
    if (deadlineIndex === 'remove' || (deadlineIndex === 'reindex' && earliest === null)) await redis.zrem(index, roomCode);
    else if (deadlineIndex === 'reindex') await redis.zadd(index, earliest!, roomCode);
  }
}

/** One Redis command of a write: the command, the key it touches, its other arguments. */
type Op = [command: 'HDEL' | 'HSET' | 'SREM' | 'SADD' | 'SET' | 'DEL', key: string, ...args: string[]];

/**
 * KEYS[1] is the room's owner record, KEYS[2..n] its live keys. ARGV: the owner's node and
 * epoch (an empty node writes unfenced), the TTL in ms (empty: none, the keys are being
 * deleted), the commands as JSON `[[command, key index, args...]]`, and the index of the
 * deadlines hash when the room's earliest deadline is wanted back (else ''). Returns that
 * earliest deadline, or nil. Checking the fence and writing happen in one script, so no other
 * client runs between them (docs/scaling.md "How rooms run in a cluster"). The keys it writes
 * get the TTL (a key it creates has none before); the others keep theirs until the owner's
 * next refresh, and the owner record's is only ever lengthened.
 */
const fencedWriteScript = `
if ARGV[1] ~= '' then
  local owner = redis.call('HMGET', KEYS[1], 'node', 'epoch')
  if owner[1] ~= ARGV[1] or owner[2] ~= ARGV[2] then
    return redis.error_reply('FENCED owned by ' .. tostring(owner[1]) .. ' at epoch ' .. tostring(owner[2]))
  end
end
local written = {}
for _, op in ipairs(cjson.decode(ARGV[4])) do
  redis.call(op[1], KEYS[op[2]], unpack(op, 3))
  if op[1] == 'HSET' or op[1] == 'SADD' or op[1] == 'SET' then written[op[2]] = true end
end
if ARGV[3] ~= '' then
  for i in pairs(written) do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
  if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[3], 'GT') end
end
if ARGV[5] == '' then return nil end
local earliest = nil
for _, value in ipairs(redis.call('HVALS', KEYS[tonumber(ARGV[5])])) do
  local at = tonumber(value)
  if at and (earliest == nil or at < earliest) then earliest = at end
end
if earliest then return string.format('%.0f', earliest) end
return nil
`;

/** KEYS: the room's owner record and live keys. ARGV: the TTL in ms. Keeps an idle room's keys alive. */
const refreshRoomScript = `
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fencedWrite(numKeys: number, ...keysAndArgs: string[]): Result<string | null, Context>;
    refreshRoom(numKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

/** Registers the scripts on the connection (ioredis sends EVALSHA, and EVAL when Redis lacks it). */
function defineScripts(redis: RedisClient): void {
  if (typeof redis.fencedWrite !== 'function') redis.defineCommand('fencedWrite', { lua: fencedWriteScript });
  if (typeof redis.refreshRoom !== 'function') redis.defineCommand('refreshRoom', { lua: refreshRoomScript });
}

/** Runs the batch and throws the first per-command error; ioredis resolves with them instead. */
async function exec(batch: ChainableCommander): Promise<unknown[]> {
  const results = await batch.exec();
  // Only a WATCHed transaction can come back null, and we never WATCH.
  if (!results) throw new Error('Redis transaction was aborted');
  const failed = results.find(([error]) => error);
  if (failed?.[0]) throw failed[0];
  return results.map(([, value]) => value);
}

/** Arguments per command: Lua's unpack() is limited to a few thousand values. */
const chunkSize = 500;

function pushChunked(ops: Op[], command: 'HDEL' | 'SREM' | 'SADD', key: string, args: string[]): void {
  for (let i = 0; i < args.length; i += chunkSize) ops.push([command, key, ...args.slice(i, i + chunkSize)]);
}

/** HDEL then HSET, skipping empty ones (HSET without fields is a Redis error); a key in both ends up set. */
function writeHash<V>(ops: Op[], key: string, change: MapChange<V> | undefined, serialize: (value: V) => string): void {
  pushChunked(ops, 'HDEL', key, change?.delete ?? []);
  const entries = Object.entries(change?.set ?? {});
  for (let i = 0; i < entries.length; i += chunkSize) {
    ops.push(['HSET', key, ...entries.slice(i, i + chunkSize).flatMap(([field, value]) => [field, serialize(value)])]);
  }
}
