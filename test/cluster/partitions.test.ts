import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { startCluster, type ClusterNode, type TestCluster } from '../support/cluster';
import { testDatabaseUrl } from '../support/env';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { checkHistory, summarize } from '../support/history-checker';
import { createRoom, hostUser, meetings } from '../support/meetings';
import { startWorkload, type WorkloadRoom } from '../support/partition-workload';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis';
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

  /** Four rooms with their hosts in: three owned by the node the faults hit, one by the second; every other one locked. */
  async function busyRooms(): Promise<WorkloadRoom[]> {
    const owners = [target, target, target, cluster.nodes[1]!];
    return Promise.all(
      owners.map(async (owner, i) => {
        const host = await hostUser(owner, `Partition host ${i}`);
        const locked = i % 2 === 1;
        const { room_code: code } = await createRoom(owner, host, { name: `Partitioned ${i}`, settings: { max_participants: 3, lock_room: locked } });
        expect((await meetings(owner)(host, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
        expect(await cluster.ownerOf(code)).toBe(owner.id);
        return { code, host, cap: 3, locked };
      }),
    );
  }

  /** Runs the workload, applies `fault` once it is going, keeps it going two seconds after, and checks everything. */
  async function underFault(name: string, fault: () => Promise<void>): Promise<void> {
    const rooms = await busyRooms();
    const workload = startWorkload(cluster.nodes, rooms, { lanes: 2, timeoutMs: 12_000 });
    await sleep(1500);
    await fault();
    await sleep(2000);
    await workload.stop();
    // Every node answers for every room again before the stores are compared.
    await until('every node to answer for every room', async () => {
      const answers = await Promise.all(cluster.nodes.flatMap((node) => rooms.map((room) => meetings(node)(room.host, 'GET', `/${room.code}/participants`))));
      return answers.every((answer) => answer.status === 200) || undefined;
    });
    const violations = await checkHistory(workload.history, rooms, { nodes: cluster.nodes, db, redis: cluster.redis, prefix: cluster.prefix });
    console.log(`${name}: ${summarize(workload.history)}`);
    expect(violations).toEqual([]);
    expect(workload.history.calls.filter((call) => call.op === 'join' && call.outcome === 200).length).toBeGreaterThan(10);
  }

  it('(a) the owner of busy rooms loses Redis but keeps PostgreSQL', async () => {
    await underFault('owner loses Redis for 4 s', async () => {
      links[0]!.redis.blackhole();
      await sleep(4000);
      links[0]!.redis.heal();
    });
  }, 90_000);

  it('(b) the owner of busy rooms loses PostgreSQL but keeps Redis', async () => {
    await underFault('owner loses PostgreSQL for 4 s', async () => {
      links[0]!.pg.blackhole();
      await sleep(4000);
      links[0]!.pg.heal();
    });
  }, 90_000);

  it('(c) the owner is paused past its heartbeat, then resumed while others own its rooms', async () => {
    await underFault('owner paused for 4 s', async () => {
      target.process.kill('SIGSTOP');
      await sleep(4000);
      target.process.kill('SIGCONT');
    });
  }, 90_000);

  it('(d) Redis restarted empty under load', async () => {
    await underFault('Redis restarted empty', async () => {
      await redis.kill();
      await sleep(500);
      await redis.start();
    });
  }, 90_000);

  it('(e) 200 ms more latency on every link of the owner', async () => {
    await underFault('owner links 200 ms slower for 5 s', async () => {
      links[0]!.redis.delay(200);
      links[0]!.pg.delay(200);
      await sleep(5000);
      links[0]!.redis.heal();
      links[0]!.pg.heal();
    });
  }, 90_000);

  it('(f) the owner loses Redis while its commits to PostgreSQL are slow: only the fence keeps them out', async () => {
    await underFault('owner loses Redis for 4 s, PostgreSQL 2 s slow', async () => {
      links[0]!.pg.delay(2000);
      await sleep(500);
      links[0]!.redis.blackhole();
      await sleep(4000);
      links[0]!.redis.heal();
      links[0]!.pg.heal();
    });
  }, 90_000);
});
