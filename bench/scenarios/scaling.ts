import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import type { Socket } from 'socket.io-client';
import { call, createRoom, guest, join, registerHost } from '../lib/api';
import { attachedSocket, nextEvent } from '../lib/client';
import { startCluster, type ServerNode } from '../lib/processes';
import type { Row } from '../lib/report';
import { RedisMeter, scale, total, type Calls } from '../lib/redis-meter';
import { benchDatabaseUrl, benchRedisUrl, deletePrefix } from '../lib/services';
import { Latencies } from '../lib/stats';
import type { BenchContext } from './context';

/**
 * (g) How the cost of an operation grows with the cluster: the same fixed load on 1, 2 and 3
 * nodes in one run. On two cores throughput cannot grow with nodes, so this counts what each
 * operation costs the shared services instead: Redis commands (INFO commandstats) and SQL
 * transactions (pg_stat_database; each of our round trips is one: a statement, or a batch that
 * PostgreSQL runs as one transaction), each less the cluster's idle rate measured just before.
 *
 * - (a) create + join pairs, paced: pair i creates its room on node i mod n and joins it on
 *   node (i + 1) mod n, so with several nodes most joins are forwarded to the room's owner, as
 *   behind a load balancer that spreads users.
 * - (c) admits: the room on the last node, the host's REST on the first, the guest's socket on
 *   the second (one node: all on it; three: as row (c)).
 *
 * The baseline of each row is the same figure on one node.
 */
/** A quick run skips 2 nodes. */
const sizesOf = (context: BenchContext) => (context.quick ? [1, 3] : [1, 2, 3]);

interface Measured {
  redisPerPair: number;
  sqlPerPair: number;
  pairP50: number;
  redisPerAdmit: number;
  admitP50: number;
}

/**
 * Transactions committed or rolled back in the bench database so far, every backend's included.
 * A backend reports its counts at most once a second while busy, and when it goes idle just
 * after a report, only 10 s later (PostgreSQL's PGSTAT_IDLE_INTERVAL); at exit, at once. So the
 * nodes' connections are ended first (their pools open new ones when next needed), and their
 * counts are in by the time `pg_terminate_backend` (waiting up to 5 s) returns. The two
 * transactions this reading makes are left out.
 */
async function sqlTransactions(db: Client): Promise<number> {
  await db.query(
    "select pg_terminate_backend(pid, 5000) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'",
  );
  const { rows } = await db.query<{ n: string }>('select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()');
  return Number(rows[0]!.n) - 2;
}

/** `rate` create + join pairs a second for `seconds`, open loop, spread over the nodes. */
export async function pacedPairsAcross(nodes: ServerNode[], token: string, rate: number, seconds: number): Promise<{ latencies: Latencies; pairs: number }> {
  const pools = nodes.map((node) => new Pool(node.url, { connections: 64 }));
  const latencies = new Latencies();
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const post = async (pool: Pool, path: string, body: string, expected: number) => {
    const sentAt = performance.now();
    const response = await pool.request({ method: 'POST', path, headers, body });
    const text = await response.body.text();
    latencies.add(performance.now() - sentAt);
    if (response.statusCode !== expected) throw new Error(`POST ${path}: ${response.statusCode} ${text}`);
    return text;
  };
  const pair = async (i: number) => {
    const created = await post(pools[i % pools.length]!, '/api/v1/meetings', JSON.stringify({ name: 'Bench' }), 201);
    const { room_code: code } = JSON.parse(created) as { room_code: string };
    await post(pools[(i + 1) % pools.length]!, `/api/v1/meetings/${code}/join`, '{}', 200);
  };
  const inFlight: Promise<void>[] = [];
  const total = Math.round(rate * seconds);
  const started = performance.now();
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; sent < due; sent++) inFlight.push(pair(sent));
    await sleep(1);
  }
  await Promise.all(inFlight);
  await Promise.all(pools.map((pool) => pool.close()));
  return { latencies, pairs: total };
}

/** Admits `count` waiting guests one after another; returns their latencies and, per Redis server, the commands the admits ran. */
export async function admits(
  nodes: { owner: ServerNode; guests: ServerNode; rest: ServerNode },
  meter: RedisMeter,
  count: number,
): Promise<{ latencies: Latencies; calls: Calls[] }> {
  const host = await registerHost(nodes.rest.url);
  const code = await createRoom(nodes.owner.url, host, { lock_room: true, max_participants: 1000 });
  await join(nodes.owner.url, code, host);
  const waiting: { userId: string; socket: Socket }[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const who = await guest(nodes.owner.url, `Guest ${i}`);
      if ((await join(nodes.owner.url, code, who)).status !== 'waiting') throw new Error('expected to wait');
      waiting.push({ userId: who.userId, socket: await attachedSocket(nodes.guests.url, code, who.token) });
    }
    const latencies = new Latencies();
    const { calls } = await meter.during(async () => {
      for (const { userId, socket } of waiting) {
        const admitted = nextEvent(socket, 'lobby:admitted');
        const sentAt = performance.now();
        await call(nodes.rest.url, 'POST', `/meetings/${code}/admit/${userId}`, host.token);
        latencies.add((await admitted) - sentAt);
        await sleep(20);
      }
    });
    return { latencies, calls: calls.map((perCommand) => scale(perCommand, 1 / count)) };
  } finally {
    for (const { socket } of waiting) socket.close();
  }
}

async function measure(context: BenchContext, size: number, db: Client, meter: RedisMeter): Promise<Measured> {
  const rate = context.quick ? 40 : 80;
  const seconds = context.quick ? 4 : 10;
  const cluster = await startCluster(size, { RECONNECT_GRACE_S: '3600' });
  try {
    const nodes = cluster.nodes;
    const host = await registerHost(nodes[0]!.url);
    const sqlBefore = await sqlTransactions(db);
    // Warm-up (JIT, pools, statements): its pairs count in the SQL per pair, not in the rest.
    const warmUp = await pacedPairsAcross(nodes, host.token, rate, context.quick ? 1 : 3);
    await meter.idle(2_000);
    const { result, calls } = await meter.during(() => pacedPairsAcross(nodes, host.token, rate, seconds));
    const { latencies, pairs } = result;
    const redisPerPair = total(calls[0]!) / pairs;
    const sqlPerPair = ((await sqlTransactions(db)) - sqlBefore) / (warmUp.pairs + pairs);

    const [first, second = first, last = second] = [nodes[0]!, nodes[1], nodes[size - 1]];
    const admitted = await admits({ owner: last, guests: second, rest: first }, meter, context.quick ? 20 : 150);
    const measured = { redisPerPair, sqlPerPair, pairP50: latencies.at(50), redisPerAdmit: total(admitted.calls[0]!), admitP50: admitted.latencies.at(50) };
    context.log(
      `(g) ${size} node(s): ${rate} pairs/s for ${seconds} s, ${redisPerPair.toFixed(2)} Redis commands and ${sqlPerPair.toFixed(2)} SQL transactions per pair, request p50 ${measured.pairP50.toFixed(2)} ms; ` +
        `admit ${measured.redisPerAdmit.toFixed(2)} Redis commands, p50 ${measured.admitP50.toFixed(2)} ms`,
    );
    return measured;
  } finally {
    await cluster.close();
    await deletePrefix(cluster.prefix);
  }
}

export async function scaling(context: BenchContext): Promise<Row[]> {
  const db = new Client({ connectionString: benchDatabaseUrl });
  await db.connect();
  const redis = new Redis(benchRedisUrl);
  const measured: Measured[] = [];
  try {
    for (const size of sizesOf(context)) measured.push(await measure(context, size, db, new RedisMeter([redis])));
  } finally {
    await db.end();
    redis.disconnect();
  }
  const [one] = measured as [Measured];
  const rows: Row[] = [];
  for (const [i, size] of sizesOf(context).entries()) {
    if (size === 1) continue;
    const m = measured[i]!;
    const detail = `request p50 ${m.pairP50.toFixed(2)} ms on ${size} nodes against ${one.pairP50.toFixed(2)} on 1; admit p50 ${m.admitP50.toFixed(2)} against ${one.admitP50.toFixed(2)} ms`;
    rows.push(
      {
        id: `g.redis.${size}`,
        benchmark: `(g) create + join on ${size} nodes: Redis commands per pair`,
        unit: 'cmd',
        better: 'lower',
        figure: m.redisPerPair,
        baseline: one.redisPerPair,
        baselineName: '1 node',
        target: { ratio: 1.5 },
        detail,
      },
      {
        id: `g.sql.${size}`,
        benchmark: `(g) create + join on ${size} nodes: SQL transactions per pair`,
        unit: 'tx',
        better: 'lower',
        figure: m.sqlPerPair,
        baseline: one.sqlPerPair,
        baselineName: '1 node',
        target: { ratio: 1.1 },
      },
      {
        id: `g.admit.${size}`,
        benchmark: `(g) admit across ${size} nodes: Redis commands per admit`,
        unit: 'cmd',
        better: 'lower',
        figure: m.redisPerAdmit,
        baseline: one.redisPerAdmit,
        baselineName: '1 node',
        target: { ratio: 1.5 },
      },
    );
  }
  return rows;
}
