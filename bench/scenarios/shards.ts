import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startRedisCluster } from '../../test/support/redis-cluster';
import { registerHost } from '../lib/api';
import { startCluster } from '../lib/processes';
import { RedisMeter, total, type Calls } from '../lib/redis-meter';
import type { Row } from '../lib/report';
import { benchRedisUrl, deletePrefix } from '../lib/services';
import type { BenchContext } from './context';
import { admits, pacedPairsAcross } from './scaling';

/**
 * (g.shards) Row (g)'s load on 3 nodes against a Redis Cluster of three primaries (the test
 * suite's: `redis-server --cluster-enabled yes` on loopback ports, slots split by `redis-cli
 * --cluster create`), the nodes on REDIS_CLUSTER_NODES with the `redis-sharded` adapter: the same
 * create + join pairs and admits as (g), with INFO commandstats read on each primary, each less
 * its own idle rate. Baseline, the same run: the same load on 3 nodes on one Redis (the bench's,
 * default adapter), as (g) runs it. What it shows: how many commands a Redis Cluster costs in all,
 * and how evenly they spread over the primaries.
 *
 * SQL is not counted here ((g) does); so the waits for PostgreSQL's statistics are left out, and
 * the row takes about 45 s in a quick run.
 */
interface Measured {
  /** Per server (one Redis, or each primary), commands per pair and per admit. */
  perPair: number[];
  perAdmit: number[];
  /** Per server, PUBLISH + SPUBLISH per pair and per admit. */
  publishesPerPair: number[];
  publishesPerAdmit: number[];
  pairP50: number;
  admitP50: number;
}

const publishes = (calls: Calls) => total(calls, 'publish') + total(calls, 'spublish');
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const split = (values: number[]) => values.map((v) => v.toFixed(1)).join(' / ');
const busiestShare = (values: number[]) => Math.max(...values) / sum(values);

/** The commands that cost most per operation, over every server, for the log. */
function topCommands(calls: Calls[], per: number): string {
  const all = new Map<string, number>();
  for (const server of calls) for (const [name, n] of server) all.set(name, (all.get(name) ?? 0) + n / per);
  return [...all]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([name, n]) => `${name} ${n.toFixed(1)}`)
    .join(', ');
}

async function measure(context: BenchContext, label: string, servers: Redis[], env: Record<string, string>, onOne: boolean): Promise<Measured> {
  const rate = context.quick ? 40 : 80;
  const seconds = context.quick ? 2 : 10;
  const cluster = await startCluster(3, { RECONNECT_GRACE_S: '3600', ...env });
  try {
    const nodes = cluster.nodes;
    const host = await registerHost(nodes[0]!.url);
    await pacedPairsAcross(nodes, host.token, rate, context.quick ? 1 : 3); // warm-up: JIT, pools, statements
    await sleep(2_000);
    const meter = new RedisMeter(servers);
    await meter.idle(2_000);
    const { result, calls } = await meter.during(() => pacedPairsAcross(nodes, host.token, rate, seconds));
    const admitted = await admits({ owner: nodes[2]!, guests: nodes[1]!, rest: nodes[0]! }, meter, context.quick ? 20 : 150);
    const measured: Measured = {
      perPair: calls.map((server) => total(server) / result.pairs),
      perAdmit: admitted.calls.map((server) => total(server)),
      publishesPerPair: calls.map((server) => publishes(server) / result.pairs),
      publishesPerAdmit: admitted.calls.map(publishes),
      pairP50: result.latencies.at(50),
      admitP50: admitted.latencies.at(50),
    };
    context.log(
      `(g.shards) ${label}: ${rate} pairs/s for ${seconds} s, ${sum(measured.perPair).toFixed(2)} Redis commands per pair (${split(measured.perPair)}), ` +
        `${sum(measured.perAdmit).toFixed(2)} per admit (${split(measured.perAdmit)}); publishes per pair ${split(measured.publishesPerPair)}, per admit ${split(measured.publishesPerAdmit)}; ` +
        `request p50 ${measured.pairP50.toFixed(2)} ms, admit p50 ${measured.admitP50.toFixed(2)} ms`,
    );
    context.log(`(g.shards) ${label}, per pair: ${topCommands(calls, result.pairs)}; per admit: ${topCommands(admitted.calls, 1)}`);
    return measured;
  } finally {
    await cluster.close();
    if (onOne) await deletePrefix(cluster.prefix);
  }
}

export async function shards(context: BenchContext): Promise<Row[]> {
  const single = new Redis(benchRedisUrl);
  let one: Measured;
  try {
    one = await measure(context, '3 nodes on one Redis', [single], {}, true);
  } finally {
    single.disconnect();
  }
  const set = await startRedisCluster();
  const primaries = set.nodes.split(',').map((node) => {
    const [host, port] = node.split(':');
    return new Redis({ host: host!, port: Number(port) });
  });
  let sharded: Measured;
  let keys: number[];
  try {
    sharded = await measure(
      context,
      '3 nodes on a Redis Cluster of 3 primaries',
      primaries,
      { REDIS_CLUSTER_NODES: set.nodes, SOCKET_ADAPTER: 'redis-sharded', REDIS_URL: '' },
      false,
    );
    const perPort = await set.keysPerPrimary();
    keys = primaries.map((primary) => perPort.get(primary.options.port!) ?? 0);
  } finally {
    for (const primary of primaries) primary.disconnect();
    await set.close();
  }
  return [
    {
      id: 'g.shards.pair',
      benchmark: '(g) create + join on 3 nodes, Redis Cluster of 3 primaries: Redis commands per pair, all primaries',
      unit: 'cmd',
      better: 'lower',
      figure: sum(sharded.perPair),
      baseline: sum(one.perPair),
      baselineName: '3 nodes on one Redis',
      target: { ratio: 1.2 },
      detail:
        `per primary ${split(sharded.perPair)} cmd; publishes per pair ${split(sharded.publishesPerPair)} on the primaries against ${split(one.publishesPerPair)} on one Redis; ` +
        `request p50 ${sharded.pairP50.toFixed(2)} ms against ${one.pairP50.toFixed(2)} on one Redis`,
    },
    {
      id: 'g.shards.admit',
      benchmark: '(g) admit across 3 nodes, Redis Cluster of 3 primaries: Redis commands per admit, all primaries',
      unit: 'cmd',
      better: 'lower',
      figure: sum(sharded.perAdmit),
      baseline: sum(one.perAdmit),
      baselineName: '3 nodes on one Redis',
      target: { ratio: 1.2 },
      detail:
        `per primary ${split(sharded.perAdmit)} cmd (every admit is in one room: its scripts run on the room's primary); ` +
        `publishes per admit ${split(sharded.publishesPerAdmit)} on the primaries against ${split(one.publishesPerAdmit)} on one Redis; ` +
        `admit p50 ${sharded.admitP50.toFixed(2)} ms against ${one.admitP50.toFixed(2)} on one Redis`,
    },
    {
      id: 'g.shards.busiest',
      benchmark: "(g) create + join on a Redis Cluster of 3 primaries: the busiest primary's share of the commands",
      unit: 'of all',
      better: 'lower',
      figure: busiestShare(sharded.perPair),
      baseline: 1 / 3,
      baselineName: 'an even spread',
      target: { figure: 0.5 },
      detail: `per primary ${split(sharded.perPair.map((n) => n / sum(sharded.perPair)).map((share) => share * 100))} % of the commands per pair; keys per primary at the end: ${keys.join(' / ')}`,
    },
  ];
}
