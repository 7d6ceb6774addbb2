import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, createRoom, guest, join, pool, registerHost, type Session } from '../lib/api';
import { startCluster } from '../lib/processes';
import type { Row } from '../lib/report';
import { deletePrefix } from '../lib/services';
import { Latencies } from '../lib/stats';
import type { BenchContext } from './context';

/**
 * (f) Webhooks: what writing lifecycle events to the outbox adds to a room command, and how fast
 * the dispatcher delivers them. One node (cluster mode) with WEBHOOK_URL pointing at a receiver
 * in this process that answers 200; the baseline is the same node and commands with webhooks off.
 * Each guest's REST join into one open room writes one event (`participant.joined`).
 */
interface Measured {
  /** Sequential joins, one at a time: the latency of a command. */
  latencies: Latencies;
  /** Joins, 16 in flight: commands per second. */
  joinsPerSecond: number;
  /** Events delivered per second, from the burst's first join to its last event received. */
  deliveredPerSecond: number | null;
}

async function startReceiver(): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received += 1;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received: () => received,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

async function measure(context: BenchContext, env: Record<string, string>, received?: () => number): Promise<Measured> {
  const sequential = context.quick ? 100 : 400;
  const burst = context.quick ? 200 : 1000;
  const cluster = await startCluster(1, { RECONNECT_GRACE_S: '3600', ...env });
  try {
    const base = cluster.nodes[0]!.url;
    const host = await registerHost(base);
    const room = async () => {
      const code = await createRoom(base, host, { max_participants: 1000 });
      await join(base, code, host);
      return code;
    };
    const guests = async (count: number) => pool(count, 8, (i) => guest(base, `Guest ${i}`));

    // Warm-up: JIT and pools.
    const warm = await room();
    for (const who of await guests(50)) await join(base, warm, who);

    const latencies = new Latencies();
    const one = await room();
    for (const who of await guests(sequential)) {
      const sentAt = performance.now();
      await join(base, one, who);
      latencies.add(performance.now() - sentAt);
    }

    const many = await room();
    const burstGuests: Session[] = await guests(burst);
    const before = received?.() ?? 0;
    const startedAt = performance.now();
    await pool(burst, 16, (i) => join(base, many, burstGuests[i]!));
    const joinsPerSecond = burst / ((performance.now() - startedAt) / 1000);
    let deliveredPerSecond: number | null = null;
    if (received) {
      const deadline = Date.now() + 60_000;
      while (received() - before < burst && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      deliveredPerSecond = (received() - before) / ((performance.now() - startedAt) / 1000);
    }
    // The run's own rows must not wait for the next run's dispatcher.
    await call(base, 'POST', `/meetings/${many}/end`, host.token);
    return { latencies, joinsPerSecond, deliveredPerSecond };
  } finally {
    await cluster.close();
    await deletePrefix(cluster.prefix);
  }
}

export async function webhooks(context: BenchContext): Promise<Row[]> {
  context.log('(f) webhooks: baseline, webhooks off (1 node)');
  const off = await measure(context, {});
  const receiver = await startReceiver();
  let on: Measured;
  try {
    context.log(`(f) webhooks: ours, webhooks on (1 node, receiver in the bench process)`);
    on = await measure(context, { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: randomBytes(32).toString('base64url') }, receiver.received);
  } finally {
    await receiver.close();
  }
  const describe = (m: Measured) =>
    `p50 ${m.latencies.at(50).toFixed(2)}, p99 ${m.latencies.at(99).toFixed(2)} ms (n ${m.latencies.count}); ${m.joinsPerSecond.toFixed(0)} joins/s at 16 in flight`;
  context.log(`(f) off: ${describe(off)}; on: ${describe(on)}; delivered ${on.deliveredPerSecond?.toFixed(0)} events/s`);
  return [
    {
      id: 'f.p50',
      benchmark: '(f) REST join with webhooks on, p50',
      unit: 'ms',
      better: 'lower',
      figure: on.latencies.at(50),
      baseline: off.latencies.at(50),
      baselineName: 'the same join, webhooks off',
      target: { ratio: 1.3 },
      detail: `on: ${describe(on)}; off: ${describe(off)}`,
    },
    {
      id: 'f.p99',
      benchmark: '(f) REST join with webhooks on, p99',
      unit: 'ms',
      better: 'lower',
      figure: on.latencies.at(99),
      baseline: off.latencies.at(99),
      baselineName: 'the same join, webhooks off',
      target: { ratio: 1.5 },
    },
    {
      id: 'f.rate',
      benchmark: '(f) REST joins/s with webhooks on (16 in flight)',
      unit: 'joins/s',
      better: 'higher',
      figure: on.joinsPerSecond,
      baseline: off.joinsPerSecond,
      baselineName: 'the same joins, webhooks off',
      target: { ratio: 0.8 },
    },
    {
      // Delivery keeps up: the burst's events reach the receiver about as fast as its joins made them.
      id: 'f.delivered',
      benchmark: '(f) webhook events delivered/s during that burst',
      unit: 'events/s',
      better: 'higher',
      figure: on.deliveredPerSecond ?? 0,
      baseline: on.joinsPerSecond,
      baselineName: "that burst's joins/s, one event each",
      target: { ratio: 0.95 },
      detail: "from the burst's first join to its last event received; one event per join",
    },
  ];
}
