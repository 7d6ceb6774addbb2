import type { ChainableCommander, Redis } from 'ioredis';
import { z } from 'zod';
import type { LiveLobbyEntry, LiveParticipant, LiveRoomState, LiveStateStore, MapChange } from './live-state';
import { allLiveStateKeys, liveStateKeys } from './redis-keys';

/**
 * The live-state store of a cluster: the keys of DESIGN.md §5 (see redis-keys.ts), written by
 * the node that owns the room and readable by any other service. Each call is one round trip.
 */
export function createRedisLiveStateStore(redis: Redis, options: { prefix: string; ttlMs: number }): LiveStateStore {
  const { prefix, ttlMs } = options;

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
          .hgetall(keys.connections),
      );
      const [participants, lobby, lobbyEntries, activeSpeaker, deadlines, connections] = results as [
        Record<string, string>,
        string[],
        Record<string, string>,
        string | null,
        Record<string, string>,
        Record<string, string>,
      ];
      return {
        participants: parseEntries(participants, parseParticipant),
        lobby: parseLobby(lobby, lobbyEntries),
        activeSpeaker,
        deadlines: parseEntries(deadlines, parseDeadline),
        connections: parseEntries(connections, parseConnections),
      } satisfies LiveRoomState;
    },

    async apply(roomCode, change) {
      const keys = liveStateKeys(prefix, roomCode);
      const multi = redis.multi();
      writeHash(multi, keys.participants, change.participants, serializeParticipant);
      // The set says who waits; the hash beside it holds what we know about them.
      const lobbyRemoved = change.lobby?.delete ?? [];
      if (lobbyRemoved.length > 0) multi.srem(keys.lobby, ...lobbyRemoved);
      const lobbyAdded = Object.keys(change.lobby?.set ?? {});
      if (lobbyAdded.length > 0) multi.sadd(keys.lobby, ...lobbyAdded);
      writeHash(multi, keys.lobbyEntries, change.lobby, serializeLobbyEntry);
      if (change.activeSpeaker === null) multi.del(keys.activeSpeaker);
      else if (change.activeSpeaker !== undefined) multi.set(keys.activeSpeaker, change.activeSpeaker);
      writeHash(multi, keys.deadlines, change.deadlines, String);
      writeHash(multi, keys.connections, change.connections, (ids) => JSON.stringify(ids));
      for (const key of allLiveStateKeys(prefix, roomCode)) multi.pexpire(key, ttlMs);
      // EXEC does not roll back a command that fails at run time (e.g. WRONGTYPE); the others
      // still apply. We can only refuse to report success.
      await exec(multi);
    },

    async refresh(roomCodes) {
      if (roomCodes.length === 0) return;
      const pipeline = redis.pipeline();
      for (const roomCode of roomCodes) {
        for (const key of allLiveStateKeys(prefix, roomCode)) pipeline.pexpire(key, ttlMs);
      }
      await exec(pipeline);
    },

    async delete(roomCode) {
      await redis.del(...allLiveStateKeys(prefix, roomCode));
    },
  };
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

/** HDEL then HSET, skipping empty ones (HSET without fields is a Redis error); a key in both ends up set. */
function writeHash<V>(multi: ChainableCommander, key: string, change: MapChange<V> | undefined, serialize: (value: V) => string): void {
  const removed = change?.delete ?? [];
  if (removed.length > 0) multi.hdel(key, ...removed);
  const fields = Object.entries(change?.set ?? {}).flatMap(([field, value]) => [field, serialize(value)]);
  if (fields.length > 0) multi.hset(key, ...fields);
}

// Serializers name every field, so only the documented shape reaches Redis even if a caller's
// object carries more.
const serializeParticipant = (p: LiveParticipant): string =>
  JSON.stringify({ status: p.status, language: p.language, hardware_ready: p.hardware_ready, display_name: p.display_name, role: p.role, joined_at: p.joined_at });

const serializeLobbyEntry = (e: LiveLobbyEntry): string =>
  JSON.stringify({ display_name: e.display_name, language: e.language, hardware_ready: e.hardware_ready, since: e.since });

/**
 * Parses each value and drops the ones that do not parse: other services can write these keys,
 * and one corrupted entry must not crash the node that reads the room.
 * Object.fromEntries keeps an id like `__proto__` an ordinary key.
 */
function parseEntries<V>(raw: Record<string, string>, parse: (value: string) => V | undefined): Record<string, V> {
  const entries: [string, V][] = [];
  for (const [key, value] of Object.entries(raw)) {
    const parsed = parse(value);
    if (parsed !== undefined) entries.push([key, parsed]);
  }
  return Object.fromEntries(entries);
}

/**
 * The set is the authority on who waits. A member whose metadata is missing or corrupted still
 * waits (dropping them would strand a user in the lobby), read with neutral metadata and
 * `since` at the epoch, so they are served first rather than never. Metadata without a set
 * member is a leftover and is ignored.
 */
function parseLobby(members: string[], rawEntries: Record<string, string>): Record<string, LiveLobbyEntry> {
  const entries = parseEntries(rawEntries, parseLobbyEntry);
  return Object.fromEntries(
    members.map((userId): [string, LiveLobbyEntry] => [
      userId,
      Object.hasOwn(entries, userId) ? entries[userId]! : { display_name: '', language: null, hardware_ready: false, since: new Date(0).toISOString() },
    ]),
  );
}

// The stored JSON shapes (DESIGN.md §5). z.object drops fields we do not know.
const participantJson = z.object({
  status: z.enum(['connected', 'disconnected']),
  language: z.string().nullable(),
  hardware_ready: z.boolean(),
  display_name: z.string(),
  role: z.enum(['host', 'guest']),
  joined_at: z.string(),
});
const lobbyEntryJson = z.object({ display_name: z.string(), language: z.string().nullable(), hardware_ready: z.boolean(), since: z.string() });

/** A JSON value of the given shape, or undefined for anything else (bad JSON included). */
const parseJson =
  <T>(schema: z.ZodType<T>) =>
  (value: string): T | undefined => {
    try {
      const result = schema.safeParse(JSON.parse(value));
      return result.success ? result.data : undefined;
    } catch {
      return undefined;
    }
  };
const parseParticipant = parseJson<LiveParticipant>(participantJson);
const parseLobbyEntry = parseJson<LiveLobbyEntry>(lobbyEntryJson);
const parseConnections = parseJson<string[]>(z.array(z.string()));

function parseDeadline(value: string): number | undefined {
  // Number('') and Number(' ') are 0; a deadline must be written as a decimal number.
  if (!/^-?\d+(\.\d+)?$/.test(value)) return undefined;
  const ms = Number(value);
  return Number.isFinite(ms) ? ms : undefined;
}
