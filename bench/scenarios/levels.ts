import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { registerHost, seatGuests } from '../lib/api';
import { forkHelper, startCluster, type Proc } from '../lib/processes';
import type { Row } from '../lib/report';
import { benchRedisUrl, deletePrefix, redisCommandCount } from '../lib/services';
import { startSocketLoad, type SocketLoad } from '../lib/socket-load';
import { eventLoopSamplingMs } from '../lib/stats';
import type { BenchContext } from './context';

/**
 * (b1) Audio levels one node absorbs: attached participants (rooms of 10) each send quiet levels
 * (-60 dBFS: nobody starts speaking) at 20/s, in rising steps of total rate. The figure is the
 * highest step the node took with event-loop delay p99 ≤ 20 ms, every level sent and every socket
 * still connected. The delay is prom-client's p99 less its 10 ms sampling interval (an idle loop
 * reads 10 ms), read the same way for the baseline. Ours: one node in cluster mode, with Redis commands per level counted by
 * INFO commandstats (less the idle heartbeat rate). Baseline: bare Socket.IO receive-and-drop.
 */
const eldLimitMs = 20;
const perSocketHz = 20;
const quietDb = -60;

interface Step {
  rate: number;
  achieved: number;
  eldP99Ms: number;
  connected: number;
  /** The server's CPU time per level in this step (µs). */
  cpuUs: number;
  /** Redis commands run during the step, and its length (s). */
  commands: number;
  seconds: number;
}

async function ramp(
  context: BenchContext,
  name: string,
  load: SocketLoad,
  server: Proc,
  sockets: number,
  eld: () => Promise<number>,
  commandCount: () => Promise<number> = async () => 0,
): Promise<Step | null> {
  const rates = context.quick ? [10_000, 20_000, 30_000] : [10_000, 20_000, 25_000, 30_000, 35_000, 40_000, 45_000, 50_000, 60_000, 70_000];
  const stepMs = context.quick ? 3_000 : 6_000;
  await load.levels(5_000, context.quick ? 1_000 : 2_000, quietDb); // warm-up
  let best: Step | null = null;
  for (const rate of rates.filter((r) => r <= sockets * perSocketHz)) {
    await sleep(300);
    await eld(); // resets the histogram
    const commandsBefore = await commandCount();
    const cpuBefore = server.cpuMs();
    const sent = await load.levels(rate, stepMs, quietDb);
    const cpuUs = ((server.cpuMs() - cpuBefore) * 1000) / sent.sent;
    const commands = (await commandCount()) - commandsBefore;
    const eldP99Ms = Math.max(0, (await eld()) - eventLoopSamplingMs);
    const step = { rate, achieved: sent.sent / sent.seconds, eldP99Ms, connected: sent.connected, cpuUs, commands, seconds: sent.seconds };
    const ok = step.eldP99Ms <= eldLimitMs && step.achieved >= rate * 0.95 && step.connected === sockets;
    context.log(
      `(b1) ${name}: ${rate}/s → sent ${step.achieved.toFixed(0)}/s, ELD p99 ${step.eldP99Ms.toFixed(1)} ms, ${step.cpuUs.toFixed(1)} µs CPU per level, ${step.connected}/${sockets} connected${ok ? '' : ' (over the limit)'}`,
    );
    if (!ok) break;
    best = step;
  }
  return best;
}

/** Our node's event-loop delay p99 since the last scrape (prom-client resets it on every collect). */
async function scrapeEld(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text);
  return Number(match?.[1] ?? NaN) * 1000;
}

export async function levels(context: BenchContext): Promise<Row[]> {
  const sockets = context.quick ? 1_500 : 3_500;
  const load = await startSocketLoad(2);
  const redis = new Redis(benchRedisUrl);
  try {
    context.log(`(b1) audio levels: ours (1 node, cluster mode), ${sockets} sockets`);
    // Seated over REST before their sockets open: a grace past the run keeps the first seated
    // (joined, no socket yet) from timing out while the rest are seated.
    const cluster = await startCluster(1, { RECONNECT_GRACE_S: '3600' });
    let ours: Step | null;
    let commandsPerLevel = NaN;
    try {
      const node = cluster.nodes[0]!;
      const clients = await seatGuests(node.url, await registerHost(node.url), sockets, 9);
      await load.open(node.url, clients);
      // The node's own background commands (heartbeat, deadline poll) while nothing happens.
      const idleFrom = await redisCommandCount(redis);
      await sleep(3_000);
      const idlePerSecond = ((await redisCommandCount(redis)) - idleFrom - 1) / 3;
      ours = await ramp(
        context,
        'ours',
        load,
        node,
        sockets,
        () => scrapeEld(node.url),
        () => redisCommandCount(redis),
      );
      // Each count is itself one INFO command.
      if (ours) commandsPerLevel = Math.max(0, ours.commands - 1 - idlePerSecond * ours.seconds) / (ours.achieved * ours.seconds);
      if (ours)
        context.log(`(b1) ours: ${ours.commands} Redis commands during the ${ours.rate}/s step, ${(idlePerSecond * ours.seconds).toFixed(0)} expected idle`);
      await load.closeSockets();
    } finally {
      await cluster.close();
      await deletePrefix(cluster.prefix);
    }

    context.log(`(b1) audio levels: baseline (bare Socket.IO), ${sockets} sockets`);
    const baseline = await forkHelper('bench/baselines/socketio.ts');
    let bare: Step | null;
    try {
      const url = baseline.hello.url as string;
      await load.open(
        url,
        Array.from({ length: sockets }, (_, i) => ({ roomCode: `room-${Math.floor(i / 9)}` })),
      );
      bare = await ramp(context, 'baseline', load, baseline, sockets, async () => (await baseline.call<{ eldP99Ms: number }>('stats')).eldP99Ms);
      await load.closeSockets();
    } finally {
      await baseline.stop();
    }
    const describe = (step: Step | null) =>
      step ? `ELD p99 ${step.eldP99Ms.toFixed(1)} ms and ${step.cpuUs.toFixed(1)} µs CPU per level at ${step.rate}/s` : 'no step passed';
    return [
      {
        id: 'b1.levels',
        benchmark: '(b1) audio:level events/s one node absorbs (ELD p99 ≤ 20 ms)',
        unit: 'events/s',
        better: 'higher',
        figure: ours?.achieved ?? 0,
        baseline: bare?.achieved ?? null,
        baselineName: 'bare Socket.IO, receive and drop',
        target: { figure: 20_000, ratio: 0.7 },
        detail: `${sockets} sockets in rooms of 9 at ≤ 20/s each; ours ${describe(ours)}; baseline ${describe(bare)}; the ramp stops at the load generators' ceiling`,
      },
      {
        id: 'b1.redis',
        benchmark: '(b1) Redis commands per audio:level',
        unit: 'cmd/event',
        better: 'lower',
        figure: commandsPerLevel,
        baseline: null,
        baselineName: 'INFO commandstats, less the idle heartbeat rate',
        target: { figure: 0.001 },
      },
    ];
  } finally {
    await load.stop();
    await redis.quit();
  }
}
