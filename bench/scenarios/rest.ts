import autocannon from 'autocannon';
import { registerHost } from '../lib/api';
import { pacedPairs } from '../lib/paced';
import { forkHelper, startCluster } from '../lib/processes';
import type { Row } from '../lib/report';
import { deletePrefix } from '../lib/services';
import type { BenchContext } from './context';

/**
 * (a) REST create + join: each autocannon connection creates a room and joins it as its host,
 * over and over. First flat out (the pairs/s figure, with its error rate), then at 80% of that
 * rate (the p99 figure: per request, either kind). Ours: one node in cluster mode. Baseline:
 * bare node:http + plain `pg` doing the same durable SQL (bench/baselines/http-pg.ts). The 80%
 * load is open-loop and evenly spaced (bench/lib/paced.ts), so its p99 is latency under load,
 * not the queue of a closed loop.
 */
interface Measured {
  pairsPerSecond: number;
  errorRate: number;
  p99AtLoad: number;
  p50AtLoad: number;
}

async function drive(context: BenchContext, url: string, headers: Record<string, string>): Promise<Measured> {
  const seconds = context.quick ? 5 : 20;
  const requests: autocannon.Request[] = [
    {
      method: 'POST',
      path: '/api/v1/meetings',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ name: 'Bench' }),
      onResponse: (status, body, state) => {
        if (status === 201) (state as { code?: string }).code = (JSON.parse(body) as { room_code: string }).room_code;
      },
    },
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{}',
      setupRequest: (request, state) => ({ ...request, path: `/api/v1/meetings/${(state as { code?: string }).code}/join` }),
    },
  ];
  const run = (options: Partial<autocannon.Options>) => autocannon({ url, requests, connections: 32, duration: seconds, ...options });
  await run({ duration: context.quick ? 2 : 5 }); // warm-up: JIT, pools
  const flat = await run({});
  const failed = flat.non2xx + flat.errors + flat.timeouts;
  const completed = flat['2xx'] + failed;
  const pairsPerSecond = flat['2xx'] / 2 / flat.duration;
  const loaded = await pacedPairs(url, headers, pairsPerSecond * 0.8, seconds);
  return { pairsPerSecond, errorRate: completed ? failed / completed : 1, p99AtLoad: loaded.latencies.at(99), p50AtLoad: loaded.latencies.at(50) };
}

export async function rest(context: BenchContext): Promise<Row[]> {
  context.log('(a) REST create + join: ours (1 node, cluster mode)');
  // The bench's hosts join over REST and never attach a socket, so each would start a reconnect
  // grace (30 s) that expires during the next phase, adding the first phase's deferred work to
  // the 80% phase. Real hosts attach; the grace is set past the run.
  const cluster = await startCluster(1, { RECONNECT_GRACE_S: '3600' });
  let ours: Measured;
  try {
    const host = await registerHost(cluster.nodes[0]!.url);
    ours = await drive(context, cluster.nodes[0]!.url, { authorization: `Bearer ${host.token}` });
  } finally {
    await cluster.close();
    await deletePrefix(cluster.prefix);
  }
  context.log('(a) REST create + join: baseline (node:http + pg)');
  const baseline = await forkHelper('bench/baselines/http-pg.ts');
  let bare: Measured;
  try {
    bare = await drive(context, baseline.hello.url as string, { 'x-user-id': baseline.hello.hostId as string });
  } finally {
    await baseline.stop();
  }
  const detail = (m: Measured) => `${(m.errorRate * 100).toFixed(2)}% errors flat out; p50 ${m.p50AtLoad.toFixed(1)} ms at 80%`;
  return [
    {
      id: 'a.throughput',
      benchmark: '(a) REST create + join, pairs/s (< 0.1% errors)',
      unit: 'pairs/s',
      better: 'higher',
      figure: ours.errorRate < 0.001 ? ours.pairsPerSecond : 0,
      baseline: bare.pairsPerSecond,
      baselineName: 'node:http + pg',
      target: { figure: 500, ratio: 0.5 },
      detail: `ours ${detail(ours)}; baseline ${detail(bare)}; flat out: autocannon, 32 connections; at 80%: open loop, evenly spaced`,
    },
    {
      id: 'a.p99',
      benchmark: '(a) REST request p99 at 80% of max rate',
      unit: 'ms',
      better: 'lower',
      figure: ours.p99AtLoad,
      baseline: bare.p99AtLoad,
      baselineName: 'node:http + pg at 80% of its rate',
      target: { ratio: 3 },
    },
  ];
}
