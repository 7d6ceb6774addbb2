import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { emptyLiveState } from '../../src/live-state/live-state';
import { createMemoryLiveStateStore } from '../../src/live-state/memory-live-state';
import { allLiveStateKeys, liveStateKeys } from '../../src/live-state/redis-keys';
import { createRedisLiveStateStore } from '../../src/live-state/redis-live-state';
import { liveStateContract, lobbyEntry, participant, randomRoomCode } from '../contract/live-state.contract';
import { testRedisUrl } from '../support/env';
import { deleteRedisPrefix, redisKeys } from '../support/redis';

// One Redis serves parallel test runs; a prefix per run keeps their keys apart. Hex, so the
// prefix has no SCAN glob characters in it.
const runPrefix = `test-${randomBytes(6).toString('hex')}:`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3, disconnectTimeout: 500 });
});

afterAll(async () => {
  await deleteRedisPrefix(runPrefix);
  await redis.quit();
});

liveStateContract('memory', async (ttlMs) => {
  const store = createMemoryLiveStateStore({ ttlMs });
  return { store, close: async () => store.close() };
});

// The store does not own the connection, so there is nothing to close per test.
liveStateContract('Redis', async (ttlMs) => ({ store: createRedisLiveStateStore(redis, { prefix: runPrefix, ttlMs }), close: async () => {} }));

describe('Redis live state, as other services see it', () => {
  const ttlMs = 60_000;

  describe('without a prefix', () => {
    // These keys carry the exact names of docs/operations.md "Redis keys", outside the run prefix; remove them by room.
    const rooms: string[] = [];
    const newRoom = () => {
      const room = randomRoomCode();
      rooms.push(room);
      return room;
    };
    afterAll(async () => {
      for (const room of rooms) await deleteRedisPrefix(`room:{${room}}:`);
    });
    const store = () => createRedisLiveStateStore(redis, { prefix: '', ttlMs });

    it('writes the key names and value shapes of docs/operations.md "Redis keys"', async () => {
      const room = newRoom();
      await store().apply(room, {
        participants: { set: { u1: participant({ role: 'host', language: null }) } },
        lobby: { set: { u2: lobbyEntry() } },
        activeSpeaker: 'u1',
        deadlines: { set: { empty_room: 1_700_000_000_123, 'grace:u1': 1_700_000_000_456 } },
        connections: { set: { u1: ['socket-a', 'socket-b'] } },
        knockCooldowns: { set: { u3: 1_700_000_000_789 } },
      });

      const participants = await redis.hgetall(`room:{${room}}:participants`);
      expect(Object.keys(participants)).toEqual(['u1']);
      const u1 = JSON.parse(participants.u1!) as Record<string, unknown>;
      expect(Object.keys(u1).sort()).toEqual(['display_name', 'hardware_ready', 'joined_at', 'language', 'media', 'role', 'status']);
      expect(u1).toEqual({
        status: 'connected',
        language: null,
        hardware_ready: true,
        display_name: 'Ada',
        role: 'host',
        joined_at: '2025-01-02T03:04:05.678Z',
        media: { audio: true, video: false },
      });

      expect(await redis.smembers(`room:{${room}}:lobby`)).toEqual(['u2']);
      expect(JSON.parse((await redis.hget(`room:{${room}}:lobby_entries`, 'u2'))!)).toEqual(lobbyEntry());
      expect(await redis.get(`room:{${room}}:active_speaker`)).toBe('u1');
      expect(await redis.hgetall(`room:{${room}}:deadlines`)).toEqual({ empty_room: '1700000000123', 'grace:u1': '1700000000456' });
      expect(JSON.parse((await redis.hget(`room:{${room}}:connections`, 'u1'))!)).toEqual(['socket-a', 'socket-b']);
      expect(await redis.hgetall(`room:{${room}}:knock_cooldowns`)).toEqual({ u3: '1700000000789' });

      const keys = await redisKeys(`*${room}*`);
      expect(keys.sort()).toEqual(allLiveStateKeys('', room).sort());
      for (const key of keys) {
        const pttl = await redis.pttl(key);
        expect(pttl).toBeGreaterThan(0);
        expect(pttl).toBeLessThanOrEqual(ttlMs);
      }
    });

    it('writes only the documented fields, whatever the caller passes', async () => {
      const room = newRoom();
      const withExtra = { ...participant(), secret: 'must not leak' };
      await store().apply(room, { participants: { set: { u1: withExtra } } });
      expect(JSON.parse((await redis.hget(`room:{${room}}:participants`, 'u1'))!)).toEqual(participant());
    });

    it('deletes every key of the room', async () => {
      const room = newRoom();
      await store().apply(room, {
        participants: { set: { u1: participant() } },
        lobby: { set: { u2: lobbyEntry() } },
        activeSpeaker: 'u1',
        deadlines: { set: { d: 1 } },
        connections: { set: { u1: ['s'] } },
      });
      expect(await redisKeys(`*${room}*`)).toHaveLength(6);
      await store().delete(room);
      expect(await redisKeys(`*${room}*`)).toEqual([]);
    });
  });

  it('starts every key with the prefix', async () => {
    const room = randomRoomCode();
    const store = createRedisLiveStateStore(redis, { prefix: runPrefix, ttlMs });
    await store.apply(room, {
      participants: { set: { u1: participant() } },
      lobby: { set: { u2: lobbyEntry() } },
      activeSpeaker: 'u1',
      deadlines: { set: { d: 1 } },
      connections: { set: { u1: ['s'] } },
      knockCooldowns: { set: { u3: 1 } },
    });

    const keys = await redisKeys(`*${room}*`);
    expect(keys.sort()).toEqual(Object.values(liveStateKeys(runPrefix, room)).sort());
    for (const key of keys) expect(key.startsWith(`${runPrefix}room:{${room}}:`)).toBe(true);
  });

  it('skips corrupted entries written by someone else instead of throwing', async () => {
    const room = randomRoomCode();
    const keys = liveStateKeys(runPrefix, room);
    const store = createRedisLiveStateStore(redis, { prefix: runPrefix, ttlMs });
    await store.apply(room, { participants: { set: { good: participant() } }, deadlines: { set: { ok: 5 } } });
    await redis.hset(keys.participants, 'bad', 'not json', 'array', '[1]', 'partial', JSON.stringify({ status: 'connected' }));
    await redis.hset(keys.deadlines, 'bad', 'soon', 'empty', '');
    await redis.hset(keys.connections, 'good', '["s1"]', 'bad', '[1]', 'worse', 'nope');

    const state = await store.read(room);
    expect(state.participants).toEqual({ good: participant() });
    expect(state.deadlines).toEqual({ ok: 5 });
    expect(state.connections).toEqual({ good: ['s1'] });
  });

  it('reads a lobby member without usable metadata with neutral metadata', async () => {
    const room = randomRoomCode();
    const keys = liveStateKeys(runPrefix, room);
    const store = createRedisLiveStateStore(redis, { prefix: runPrefix, ttlMs });
    await store.apply(room, { lobby: { set: { known: lobbyEntry() } } });
    await redis.sadd(keys.lobby, 'bare', 'corrupt');
    await redis.hset(keys.lobbyEntries, 'corrupt', '{', 'leftover', JSON.stringify(lobbyEntry()));

    const neutral = { display_name: '', language: null, hardware_ready: false, since: '1970-01-01T00:00:00.000Z' };
    expect((await store.read(room)).lobby).toEqual({ known: lobbyEntry(), bare: neutral, corrupt: neutral });
  });

  it('rejects an apply when a command inside the transaction fails', async () => {
    const room = randomRoomCode();
    const keys = liveStateKeys(runPrefix, room);
    const store = createRedisLiveStateStore(redis, { prefix: runPrefix, ttlMs });
    // Someone wrote the wrong type to our key: HSET fails with WRONGTYPE inside EXEC.
    await redis.set(keys.participants, 'a string');

    await expect(store.apply(room, { participants: { set: { u1: participant() } } })).rejects.toThrow(/WRONGTYPE/);
  });

  it('refreshes the TTL of every key of every room in one call', async () => {
    const [a, b] = [randomRoomCode(), randomRoomCode()];
    const short = createRedisLiveStateStore(redis, { prefix: runPrefix, ttlMs: 5_000 });
    await short.apply(a, { participants: { set: { u1: participant() } }, activeSpeaker: 'u1' });
    await short.apply(b, { lobby: { set: { u2: lobbyEntry() } } });

    await createRedisLiveStateStore(redis, { prefix: runPrefix, ttlMs }).refresh([a, b]);
    for (const room of [a, b]) {
      for (const key of await redisKeys(`${runPrefix}room:{${room}}:*`)) expect(await redis.pttl(key)).toBeGreaterThan(5_000);
    }
    expect(await short.read(a)).not.toEqual(emptyLiveState());
  });
});
