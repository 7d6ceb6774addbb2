import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import pino from 'pino';
import { createRedisRoomRouter } from '../../src/cluster/redis-room-router';
import { createMemoryLiveStateStore } from '../../src/live-state/memory-live-state';
import { openOrm, type Orm } from '../../src/persistence/orm';
import { createInProcessRouter } from '../../src/rooms/in-process-router';
import { createRoomRepository } from '../../src/rooms/room-repository';
import { roomRouterContract, type RouterOptions } from '../contract/room-router.contract';
import { testDatabaseUrl, testRedisUrl } from '../support/env';
import { deleteRedisPrefix } from '../support/redis';
import { noWebhooks } from '../../src/webhooks/room-webhooks';

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
  webhooks: noWebhooks,
  logger,
  publish: options.publish,
  timings: { emptyRoomTimeoutMs: options.emptyRoomTimeoutMs, soloRoomTimeoutMs: 0, reconnectGraceMs: 60_000, lobbyRejectCooldownMs: 0 },
  refreshEveryMs: 60_000,
});

roomRouterContract('in-process', () => db, async (options) => {
  const liveState = createMemoryLiveStateStore({ ttlMs: 60_000 });
  const router = createInProcessRouter({ ...common(options), liveState });
  return {
    routers: [router],
    async close() {
      await router.close();
      liveState.close();
    },
  };
});

let nodes = 0;
async function redisNode(options: RouterOptions) {
  const connect = (extra: object = {}) => {
    const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3, disconnectTimeout: 500, ...extra });
    connections.push(redis);
    return redis;
  };
  nodes += 1;
  const router = createRedisRoomRouter({
    ...common(options),
    redis: connect(),
    subscriber: connect({ maxRetriesPerRequest: null }),
    prefix,
    nodeId: `contract-${nodes}`,
    liveStateTtlMs: 60_000,
    isLocalSocket: () => true,
  });
  await router.start();
  return router;
}

roomRouterContract('Redis, two nodes', () => db, async (options) => {
  const routers = [await redisNode(options), await redisNode(options)];
  return {
    routers,
    async close() {
      await Promise.all(routers.map((router) => router.close()));
    },
  };
});
