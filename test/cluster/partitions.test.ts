import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { startCluster, type ClusterNode, type TestCluster } from '../support/cluster';
import { testDatabaseUrl } from '../support/env';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { checkHistory, summarize } from '../support/history-checker';
import { createRoom, guestUser, hostUser, meetings } from '../support/meetings';
import { startWorkload, type Workload, type WorkloadRoom } from '../support/partition-workload';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis';
import { startRedisCluster, type RedisClusterSet } from '../support/redis-cluster';
import { until } from '../support/redis-servers';

/**
 * Partitions and faults under load (docs/fault-tests.md): three nodes, each reaching Redis and
 * PostgreSQL through a fault-injecting proxy of its own, and a workload of guests joining, waiting,
 * being admitted, rejected and removed, and leaving, through every node, in rooms most of which
 * the first node owns. Each test breaks something for a few seconds while the workload runs, heals
 * it, stops the workload and hands the history (every request and answer, every event every
 * client saw) and the stores to the checker, which lists every impossible thing it finds.
 */
describe('partitions and faults under load, checked against the history', () => {
  let redis: PrivateRedis;
  let cluster: TestCluster;
  let db: Client;
  /** Node i's links to Redis and to PostgreSQL. */
  const links: { redis: FaultProxy; pg: FaultProxy }[] = [];
  let target: ClusterNode;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    cluster = await startCluster(0, { REDIS_URL: redis.url, RECONNECT_GRACE_S: '300' });
    const database = new URL(testDatabaseUrl);
    for (let i = 0; i < 3; i++) {
      const link = {
        redis: await startFaultProxy(Number(new URL(redis.url).port)),
        pg: await startFaultProxy(Number(database.port || 5432), database.hostname),
      };
      links.push(link);
      const viaProxy = new URL(testDatabaseUrl);
      viaProxy.port = String(link.pg.port);
      await cluster.addNode({ REDIS_URL: `redis://127.0.0.1:${link.redis.port}`, DATABASE_URL: viaProxy.toString() });
    }
    target = cluster.nodes[0]!;
    db = new Client({ connectionString: testDatabaseUrl });
    await db.connect();
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await cluster?.close();
    await Promise.all(links.flatMap((link) => [link.redis.close(), link.pg.close()]));
    await redis?.close();
  });

  it('(a) the owner of busy rooms loses Redis but keeps PostgreSQL', async () => {
    await underFault({ cluster, db }, 'owner loses Redis for 4 s', async () => {
      links[0]!.redis.blackhole();
      await sleep(4000);
      links[0]!.redis.heal();
    });
  }, 90_000);

  it('(b) the owner of busy rooms loses PostgreSQL but keeps Redis', async () => {
    await underFault({ cluster, db }, 'owner loses PostgreSQL for 4 s', async () => {
      links[0]!.pg.blackhole();
      await sleep(4000);
      links[0]!.pg.heal();
    });
  }, 90_000);

  it('(c) the owner is paused past its heartbeat, then resumed while others own its rooms', async () => {
    await underFault({ cluster, db }, 'owner paused for 4 s', async () => {
      target.process.kill('SIGSTOP');
      await sleep(4000);
      target.process.kill('SIGCONT');
    });
  }, 90_000);

  it('(d) Redis restarted empty under load', async () => {
    await underFault({ cluster, db }, 'Redis restarted empty', async () => {
      await redis.kill();
      await sleep(500);
      await redis.start();
    });
  }, 90_000);

  it('(e) 200 ms more latency on every link of the owner', async () => {
    await underFault({ cluster, db }, 'owner links 200 ms slower for 5 s', async () => {
      links[0]!.redis.delay(200);
      links[0]!.pg.delay(200);
      await sleep(5000);
      links[0]!.redis.heal();
      links[0]!.pg.heal();
    });
  }, 90_000);

  it('(f) the owner loses Redis while its writes to PostgreSQL are slow: only the fence keeps them out', async () => {
    await underFault({ cluster, db }, 'owner loses Redis for 5 s while its writes to PostgreSQL take 6 s', async (rooms, workload) => {
      // One more room the owner runs, seating two guests, one of them in already. A late guest
      // known to the owner (in its account cache) joins it through the owner just as the owner's
      // writes to PostgreSQL start taking 6 s; then the owner loses Redis. Once another node has
      // taken the room over, a third guest joins through it, and takes the last seat: the late
      // guest's write, landing later, must not seat a third.
      const room = await hostedRoom(cluster, target, 'Last seat', { cap: 2, locked: false });
      const [first, late, third] = [await guestUser(target, 'First'), await guestUser(target, 'Late'), await guestUser(cluster.nodes[1]!, 'Third')];
      void workload.visit(target, room, first!, { stay: true });
      await until('the first guest to be in', async () => workload.history.beliefs.get(room.code)?.get(first!.userId) === 'in' || undefined);
      expect((await target.request('GET', '/api/v1/auth/me', { token: late!.token })).status).toBe(200);
      links[0]!.pg.delay(6000, 'upstream');
      void workload.visit(target, room, late!, { stay: true });
      await sleep(300);
      links[0]!.redis.blackhole();
      await until('another node to own the room', async () => ((await cluster.ownerOf(room.code)) ?? target.id) !== target.id || undefined);
      void workload.visit(cluster.nodes[1]!, room, third!, { stay: true });
      await sleep(5000);
      links[0]!.redis.heal();
      links[0]!.pg.heal();
      return [room];
    });
  }, 90_000);
});

/**
 * The faults that need no proxy, on a Redis Cluster of three primaries with the sharded adapter
 * (docs/scaling.md "Redis Cluster"): the nodes learn the primaries' addresses from the cluster
 * itself, so their links cannot go through the proxies above.
 */
describe('partitions and faults under load, on a Redis Cluster', () => {
  let redisSet: RedisClusterSet;
  let cluster: TestCluster;
  let db: Client;

  beforeAll(async () => {
    redisSet = await startRedisCluster();
    cluster = await startCluster(3, { REDIS_CLUSTER_NODES: redisSet.nodes, SOCKET_ADAPTER: 'redis-sharded', RECONNECT_GRACE_S: '300' });
    db = new Client({ connectionString: testDatabaseUrl });
    await db.connect();
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    await cluster?.close();
    await redisSet?.close();
  });

  it('(c) the owner is paused past its heartbeat, then resumed while others own its rooms', async () => {
    const target = cluster.nodes[0]!;
    await underFault({ cluster, db }, 'owner paused for 4 s, Redis Cluster', async () => {
      target.process.kill('SIGSTOP');
      await sleep(4000);
      target.process.kill('SIGCONT');
    });
  }, 90_000);
});

/**
 * Four rooms with their hosts in: three owned by the node the faults hit, one by the second;
 * every other one locked.
 */
async function busyRooms(cluster: TestCluster): Promise<WorkloadRoom[]> {
  const [target, second] = cluster.nodes as [ClusterNode, ClusterNode];
  const owners = [target, target, target, second];
  return Promise.all(owners.map((owner, i) => hostedRoom(cluster, owner, `Partitioned ${i}`, { cap: 3, locked: i % 2 === 1 })));
}

/** A room created through `owner` (which then owns it), with its host in. */
async function hostedRoom(cluster: TestCluster, owner: ClusterNode, name: string, { cap, locked }: { cap: number; locked: boolean }): Promise<WorkloadRoom> {
  const host = await hostUser(owner, `${name} host`);
  const { room_code: code } = await createRoom(owner, host, { name, settings: { max_participants: cap, lock_room: locked } });
  expect((await meetings(owner)(host, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
  expect(await cluster.ownerOf(code)).toBe(owner.id);
  return { code, host, cap, locked };
}

/**
 * Runs the workload, applies `fault` once it is going, keeps it going two seconds after, and
 * checks everything: in the workload's rooms, and in any more rooms the fault returns.
 */
async function underFault(
  { cluster, db }: { cluster: TestCluster; db: Client },
  name: string,
  fault: (rooms: WorkloadRoom[], workload: Workload) => Promise<WorkloadRoom[] | void>,
): Promise<void> {
  const rooms = await busyRooms(cluster);
  const workload = startWorkload(cluster.nodes, rooms, { timeoutMs: 12_000 });
  await sleep(1500);
  rooms.push(...((await fault(rooms, workload)) ?? []));
  const healedAt = Date.now();
  await sleep(2000);
  const stoppedAt = Date.now();
  // Stopping waits for every client's last request (up to 12 s each, and a guest's leave is
  // retried): a stop this slow means some room stopped answering, and this says which.
  const slowStop = setTimeout(
    () => console.log(`${name}: still stopping after 30 s; waiting for:\n${workload.inFlight().join('\n')}\n${warnings(cluster)}`),
    30_000,
  );
  await workload.stop().finally(() => clearTimeout(slowStop));
  // Every node answers for every room again before the stores are compared.
  let refusals: string[] = [];
  await until('every node to answer for every room', async () => {
    const answers = await Promise.all(
      cluster.nodes.flatMap((node) =>
        rooms.map(async (room) => ({ node, room, answer: await meetings(node)(room.host, 'GET', `/${room.code}/participants`) })),
      ),
    );
    refusals = answers
      .filter(({ answer }) => answer.status !== 200)
      .map(({ node, room, answer }) => `${node.id} ${room.code}: ${answer.status} ${answer.body?.code} ${answer.body?.detail}`);
    return refusals.length === 0 || undefined;
  }).catch((error: Error) => {
    throw new Error(`${error.message}; still refused:\n${refusals.join('\n')}\n${warnings(cluster)}`);
  });
  const stores = { nodes: cluster.nodes, db, redis: cluster.redis, prefix: cluster.prefix };
  const { violations, late } = await checkHistory(workload.history, rooms, stores, healedAt);
  console.log(`${name}: ${summarize(workload.history, stoppedAt)}; late events of a deposed owner: ${late.length}`);
  expect(violations).toEqual([]);
  expect(workload.history.calls.filter((call) => call.op === 'join' && call.outcome === 200).length).toBeGreaterThan(10);
}

/** The nodes' last 40 warnings and errors (pino levels 40 and up), in time order, for a failure message. */
function warnings(cluster: TestCluster): string {
  const entries = cluster.nodes.flatMap((node) =>
    node.logs
      .map(logEntry)
      .filter((entry) => (entry?.level ?? 0) >= 40)
      .map((entry) => ({ time: entry!.time ?? 0, text: `${node.id} ${entry!.msg} ${entry!.room_code ?? ''} ${entry!.err?.message ?? ''}` })),
  );
  entries.sort((a, b) => a.time - b.time);
  const lines = entries.slice(-40).map(({ time, text }) => `${new Date(time).toISOString()} ${text}`);
  return `the nodes' last warnings:\n${lines.join('\n')}`;
}

type LogEntry = { level?: number; time?: number; msg?: string; room_code?: string; err?: { message?: string } };

/** A node's log line as pino wrote it, or null for anything else (stderr chunks). */
function logEntry(line: string): LogEntry | null {
  try {
    return JSON.parse(line) as LogEntry;
  } catch {
    return null;
  }
}
