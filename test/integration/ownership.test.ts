import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createHeartbeat, type Heartbeat } from '../../src/cluster/heartbeat';
import { createOwnership, NodeNotAliveError, RestoringError } from '../../src/cluster/ownership';
import { StaleOwnerError, type Fence } from '../../src/live-state/fencing';
import { liveStateKeys, nodeKey, nodeRoomsKey, ownerKey, restoringKey } from '../../src/live-state/redis-keys';
import { createRedisLiveStateStore } from '../../src/live-state/redis-live-state';
import { participant, randomRoomCode } from '../contract/live-state.contract';
import type { DurableChange } from '../../src/rooms/room.types';
import { createRoomRepository } from '../../src/rooms/room-repository';
import { testRedisUrl } from '../support/env';
import { createRoom, hostUser } from '../support/meetings';
import { startServer, type TestServer } from '../support/server';
import { deleteRedisPrefix } from '../support/redis';

// Ownership records and fenced writes (docs/scaling.md "How rooms run in a cluster"), against the real Lua scripts.
const prefix = `test-${randomBytes(6).toString('hex')}:`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3, disconnectTimeout: 500 });
});

afterAll(async () => {
  await Promise.all(heartbeats.map((heartbeat) => heartbeat.stop()));
  await deleteRedisPrefix(prefix);
  await redis.quit();
});

const ttlMs = 3_600_000;
const beat = (nodeId: string) => redis.set(nodeKey(prefix, nodeId), '1', 'PX', 10_000);
const die = (nodeId: string) => redis.del(nodeKey(prefix, nodeId));
const heartbeats: Heartbeat[] = [];
/**
 * A node with a real heartbeat, which is its lease: it beats once (and then rarely), so `die`
 * deleting its key is a crash as the other nodes see it, and `beat` its return.
 */
const heartbeatOf = (nodeId: string) =>
  createHeartbeat(redis, {
    nodeId,
    prefix,
    ttlMs: 10_000,
    everyMs: 60_000,
    restoreWindowMs: 3_000,
    logger: pino({ level: 'silent' }),
    onLapse: () => undefined,
    onResume: () => undefined,
  });
const node = async (nodeId: string) => {
  const heartbeat = heartbeatOf(nodeId);
  heartbeats.push(heartbeat);
  await heartbeat.start();
  return createOwnership(redis, { prefix, nodeId, lease: heartbeat });
};
/** A store whose writes carry whatever fence the test holds for the room. */
const fencedStore = (fence: () => Fence | undefined) => createRedisLiveStateStore(redis, { prefix, ttlMs, fenceOf: fence });

describe('room ownership', () => {
  it('the first live claimant owns the room; others are told who does', async () => {
    const room = randomRoomCode();
    const a = await node('a1');
    const b = await node('b1');
    const claim = await a.claim(room);
    expect(claim).toEqual({ node: 'a1', epoch: expect.any(Number) });
    expect(await b.claim(room)).toEqual(claim);
    expect(await a.claim(room)).toEqual(claim);
  });

  it('concurrent claims on many connections agree on one owner', async () => {
    const room = randomRoomCode();
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const nodes = await Promise.all(ids.map(node));
    const answers = await Promise.all(nodes.flatMap((n) => [n.claim(room), n.claim(room)]));
    expect(new Set(answers.map((f) => `${f.node}@${f.epoch}`)).size).toBe(1);
  });

  it('a dead owner’s room goes to the next claimant with a higher epoch', async () => {
    const room = randomRoomCode();
    const a = await node('a2');
    const b = await node('b2');
    const first = await a.claim(room);
    await die('a2');
    // Trusting the record answers the dead owner's claim as it stands; checking takes the room over.
    expect(await b.claim(room, { trustRecord: true })).toEqual(first);
    const second = await b.claim(room);
    expect(second.node).toBe('b2');
    expect(second.epoch).toBeGreaterThan(first.epoch);
    // Back from the dead, the old owner is told the room moved.
    await beat('a2');
    expect(await a.claim(room)).toEqual(second);
  });

  it('a node without a heartbeat may not claim', async () => {
    // Its heartbeat never started.
    const ghost = createOwnership(redis, { prefix, nodeId: 'ghost', lease: heartbeatOf('ghost') });
    await expect(ghost.claim(randomRoomCode())).rejects.toBeInstanceOf(NodeNotAliveError);
  });

  it('while Redis is being restored, a room without an owner record goes to its previous owner only', async () => {
    const lost = randomRoomCode();
    const released = randomRoomCode();
    const a = await node('a9');
    await a.release(released, await a.claim(released));
    await redis.set(restoringKey(prefix), 'test', 'PX', 10_000);
    // B's heartbeat sees the flag (every node learns it at its next beat).
    const b = await node('b9');
    try {
      await expect(b.claim(lost)).rejects.toBeInstanceOf(RestoringError);
      // A record that says "nobody" was not lost: the room is anyone's, as always.
      expect((await b.claim(released)).node).toBe('b9');
      const restored = await a.claim(lost, { previousOwner: true });
      expect(restored.node).toBe('a9');
      // Once restored, everyone is told who owns it.
      expect(await b.claim(lost)).toEqual(restored);
    } finally {
      await redis.del(restoringKey(prefix));
    }
    // Once the flag is gone, the next beat lets any node take any room.
    expect((await (await node('c9')).claim(randomRoomCode())).node).toBe('c9');
  });

  it('release hands the room to the next claimant at once, keeping the epoch counting', async () => {
    const room = randomRoomCode();
    const a = await node('a3');
    const b = await node('b3');
    const fence = await a.claim(room);
    expect(await a.release(room, { node: 'a3', epoch: 7 })).toBe(false); // not this claim
    expect(await b.claim(room)).toEqual(fence);
    expect(await a.release(room, fence)).toBe(true);
    const next = await b.claim(room);
    expect(next.node).toBe('b3');
    expect(next.epoch).toBeGreaterThan(fence.epoch);
  });

  it('retire deletes the record only for the claim that holds it', async () => {
    const room = randomRoomCode();
    const a = await node('a4');
    const fence = await a.claim(room);
    expect(await a.retire(room, { ...fence, epoch: fence.epoch + 1 })).toBe(false);
    expect(await redis.exists(ownerKey(prefix, room))).toBe(1);
    expect(await a.retire(room, fence)).toBe(true);
    expect(await redis.exists(ownerKey(prefix, room))).toBe(0);
  });

  it('a claim nothing writes to expires within a minute; a write extends it to the live TTL', async () => {
    const room = randomRoomCode();
    const a = await node('a5');
    const fence = await a.claim(room);
    const claimTtl = await redis.pttl(ownerKey(prefix, room));
    expect(claimTtl).toBeGreaterThan(0);
    expect(claimTtl).toBeLessThanOrEqual(60_000);
    await fencedStore(() => fence).apply(room, { participants: { set: { u1: participant() } } });
    expect(await redis.pttl(ownerKey(prefix, room))).toBeGreaterThan(claimTtl);
    // Claiming again never shortens it.
    await a.claim(room);
    expect(await redis.pttl(ownerKey(prefix, room))).toBeGreaterThan(claimTtl);
  });

  it('epochs keep growing even when the record was deleted (they start from Redis’s clock)', async () => {
    const room = randomRoomCode();
    const a = await node('a10');
    const first = await a.claim(room);
    expect(await a.retire(room, first)).toBe(true);
    const second = await a.claim(room);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    // Microseconds since 1970: still exact as a JavaScript number.
    expect(Number.isSafeInteger(second.epoch)).toBe(true);
  });

  it('keeps each node’s room index: a claim adds the room, a takeover moves it, release and retire remove it', async () => {
    const [room1, room2] = [randomRoomCode(), randomRoomCode()];
    const a = await node('a11');
    const b = await node('b11');
    const roomsOf = (id: string) => redis.smembers(nodeRoomsKey(prefix, id)).then((codes) => codes.sort());
    const f1 = await a.claim(room1);
    await a.claim(room2);
    expect(await roomsOf('a11')).toEqual([room1, room2].sort());
    await die('a11');
    const f2 = await b.claim(room2);
    expect(await roomsOf('a11')).toEqual([room1]);
    expect(await roomsOf('b11')).toEqual([room2]);
    await beat('a11');
    await a.release(room1, f1);
    await b.retire(room2, f2);
    expect(await roomsOf('a11')).toEqual([]);
    expect(await roomsOf('b11')).toEqual([]);
  });

  it('tells live nodes from dead ones', async () => {
    const a = await node('a6');
    await beat('b6');
    await die('b6');
    expect(await a.alive(['a6', 'b6', 'never'])).toEqual([true, false, false]);
    expect(await a.alive([])).toEqual([]);
  });
});

describe('fenced live-state writes', () => {
  it('write while the claim holds; a stale owner writes nothing', async () => {
    const room = randomRoomCode();
    const a = await node('a7');
    const b = await node('b7');
    const stale = await a.claim(room);
    await fencedStore(() => stale).apply(room, { participants: { set: { u1: participant() } }, activeSpeaker: 'u1' });

    // a pauses; its heartbeat expires; b takes the room over and writes.
    await die('a7');
    const current = await b.claim(room);
    expect(current.epoch).toBeGreaterThan(stale.epoch);
    await fencedStore(() => current).apply(room, { activeSpeaker: null });

    // a wakes up with its old fence: every kind of write is refused, and nothing changes.
    const before = await redis.hgetall(liveStateKeys(prefix, room).participants);
    const staleStore = fencedStore(() => stale);
    await expect(staleStore.apply(room, { participants: { set: { u2: participant() } }, activeSpeaker: 'u2' })).rejects.toBeInstanceOf(StaleOwnerError);
    await expect(staleStore.delete(room)).rejects.toBeInstanceOf(StaleOwnerError);
    expect(await redis.hgetall(liveStateKeys(prefix, room).participants)).toEqual(before);
    expect(await redis.get(liveStateKeys(prefix, room).activeSpeaker)).toBeNull();
    // Same node id, other epoch: refused too.
    await expect(fencedStore(() => ({ node: 'b7', epoch: current.epoch - 1 })).apply(room, { activeSpeaker: 'u1' })).rejects.toBeInstanceOf(StaleOwnerError);
    await expect(fencedStore(() => ({ node: 'a7', epoch: current.epoch })).apply(room, { activeSpeaker: 'u1' })).rejects.toBeInstanceOf(StaleOwnerError);
  });

  it('refuses to write without a claim, and when the record is gone', async () => {
    const room = randomRoomCode();
    await expect(fencedStore(() => undefined).apply(room, { activeSpeaker: 'u1' })).rejects.toBeInstanceOf(StaleOwnerError);
    await expect(fencedStore(() => ({ node: 'a8', epoch: 1 })).apply(room, { activeSpeaker: 'u1' })).rejects.toBeInstanceOf(StaleOwnerError);
    expect(await redis.exists(liveStateKeys(prefix, room).activeSpeaker)).toBe(0);
  });

  it('deleting an ended room removes its owner record with its keys', async () => {
    const room = randomRoomCode();
    const a = await node('a9');
    const fence = await a.claim(room);
    const store = fencedStore(() => fence);
    await store.apply(room, { participants: { set: { u1: participant() } }, lobby: { set: {} }, deadlines: { set: { empty_room: 5 } } });
    await store.delete(room);
    const left = await redis.keys(`${prefix}room:{${room}}:*`);
    expect(left).toEqual([]);
  });
});

describe('fenced PostgreSQL writes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  // What PostgreSQL holds: the server's own actor may keep the room in memory, as its only writer.
  const settingsOf = async (code: string) =>
    (await server.app.orm.em.getConnection().execute<{ settings: { lock_room: boolean } }[]>('select settings from rooms where room_code = ?', [code]))[0]!
      .settings;

  it('a room loaded under a later epoch refuses the earlier owner’s writes; a late activation under an old epoch is refused too', async () => {
    const host = await hostUser(server);
    const room = await createRoom(server, host);
    const repository = createRoomRepository(server.app.orm);
    const code = room.room_code;
    const change = (lock: boolean): DurableChange => ({ kind: 'settingsChanged', settings: { ...room.settings, lock_room: lock } });

    const stored = (await repository.load(code, 100))!;
    const ref = { id: stored.id, roomCode: code };
    await repository.apply(ref, [change(true)], 100);
    expect((await settingsOf(code)).lock_room).toBe(true);

    // Another node claims the room (epoch 200) and loads it: the old owner can no longer write.
    await repository.load(code, 200);
    await expect(repository.apply(ref, [change(false)], 100)).rejects.toBeInstanceOf(StaleOwnerError);
    expect((await settingsOf(code)).lock_room).toBe(true);
    await repository.apply(ref, [change(false)], 200);
    expect((await settingsOf(code)).lock_room).toBe(false);

    // A claim older than the latest cannot activate the room; loading again with the same epoch can.
    await expect(repository.load(code, 150)).rejects.toBeInstanceOf(StaleOwnerError);
    expect((await repository.load(code, 200))?.id).toBe(stored.id);
    expect(await repository.load('nosuchroom00', 300)).toBeNull();
  });
});
