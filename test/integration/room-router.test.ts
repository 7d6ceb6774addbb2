import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import pino from 'pino';
import { createClusterRooms, createSingleNodeRooms } from '../../src/compose-rooms';
import { createMemoryLiveStateStore } from '../../src/live-state/memory-live-state';
import { openOrm, type Orm } from '../../src/persistence/orm';
import { createRoomRepository } from '../../src/rooms/room-repository';
import { roomRouterContract, type RouterOptions } from '../contract/room-router.contract';
import { testDatabaseUrl, testRedisUrl } from '../support/env';
import { deleteRedisPrefix } from '../support/redis';
import { noOutbox } from '../../src/rooms/room-outbox';

/**
 * The two RoomRouters under one suite (test/contract/room-router.contract.ts): in-process, and
 * Redis with two nodes in this process sharing one Redis, so commands cross between them.
 */
const logger = pino({ level: 'silent' });
const prefix = `test-${randomBytes(6).toString('hex')}:`;
let orm: Orm;
let db: Client;
const connections: Redis[] = [];

beforeAll(async () => {
  orm = await openOrm(testDatabaseUrl, { migrate: false });
  db = new Client({ connectionString: testDatabaseUrl });
  await db.connect();
});

afterAll(async () => {
  await deleteRedisPrefix(prefix);
  await Promise.all(connections.map((redis) => redis.quit().catch(() => undefined)));
  await db.end();
  await orm.close(true);
});

const common = (options: RouterOptions) => ({
  repository: createRoomRepository(orm),
  outbox: noOutbox,
  logger,
  publish: options.publish,
  timings: {
    emptyRoomTimeoutMs: options.emptyRoomTimeoutMs,
    soloRoomTimeoutMs: 0,
    unusedRoomTimeoutMs: 0,
    reconnectGraceMs: 60_000,
    lobbyRejectCooldownMs: 0,
    scheduledEndWarningMs: 0,
  },
  refreshEveryMs: 60_000,
});

roomRouterContract(
  'in-process',
  () => db,
  async (options) => {
    const liveState = createMemoryLiveStateStore({ ttlMs: 60_000 });
    const router = createSingleNodeRooms({ ...common(options), liveState });
    return {
      routers: [router],
      async close() {
        await router.close();
        liveState.close();
      },
    };
  },
);

let nodes = 0;
async function redisNode(options: RouterOptions) {
  const connect = (extra: object = {}) => {
    const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3, disconnectTimeout: 500, ...extra });
    connections.push(redis);
    return redis;
  };
  nodes += 1;
  const router = createClusterRooms({
    ...common(options),
    redis: connect(),
    subscriber: connect({ maxRetriesPerRequest: null }),
    // No Socket.IO here: rooms in these tests have no sockets to move.
    applyMove: () => undefined,
    prefix,
    nodeId: `contract-${nodes}`,
    liveStateTtlMs: 60_000,
    isLocalSocket: () => true,
  });
  await router.start();
  return router;
}

roomRouterContract(
  'Redis, two nodes',
  () => db,
  async (options) => {
    const routers = [await redisNode(options), await redisNode(options)];
    return {
      routers,
      async close() {
        await Promise.all(routers.map((router) => router.close()));
      },
    };
  },
);

describe('live-state TTL refresh', () => {
  it("the host keeps an active room's live keys past their TTL (800 ms here), refreshing them every 200 ms", async () => {
    const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3 });
    const subscriber = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
    connections.push(redis, subscriber);
    nodes += 1;
    const router = createClusterRooms({
      ...common({ publish: () => {}, emptyRoomTimeoutMs: 60_000 }),
      refreshEveryMs: 200,
      applyMove: () => undefined,
      redis,
      subscriber,
      prefix,
      nodeId: `refresh-${nodes}`,
      liveStateTtlMs: 800,
      isLocalSocket: () => true,
    });
    await router.start();
    try {
      const hostId = randomUUID();
      await db.query("insert into users (id, email, display_name, is_guest, created_at) values ($1, null, 'Host', true, now())", [hostId]);
      const roomCode = randomBytes(9).toString('base64url');
      await router.create({
        id: randomUUID(),
        roomCode,
        hostId,
        name: 'Refreshed',
        settings: { lock_room: false, enable_transcription: false, max_participants: 3 },
        schedule: { startAt: null, endAt: null },
        createdAt: Date.now(),
      });
      await router.dispatch(roomCode, { type: 'join', userId: hostId, displayName: 'Host', language: null, hardwareReady: false });
      const keys = [`${prefix}room:{${roomCode}}:owner`, `${prefix}room:{${roomCode}}:participants`];
      // Three TTLs later, with no command in between, the keys are still there, each with a TTL set.
      await new Promise((resolve) => setTimeout(resolve, 2_400));
      for (const key of keys) {
        const ttl = await redis.pttl(key);
        expect([key, ttl > 0 && ttl <= 800]).toEqual([key, true]);
      }
      expect((await router.dispatch(roomCode, { type: 'inspect' })).room).toMatchObject({ status: 'active', participantCount: 1 });
    } finally {
      await router.close();
    }
  });
});
