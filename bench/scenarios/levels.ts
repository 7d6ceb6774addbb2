import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { registerHost, seatGuests } from '../lib/api';
import { forkHelper, startCluster, type Proc } from '../lib/processes';
import type { Row } from '../lib/report';
import { benchRedisUrl, deletePrefix, redisCommandCount } from '../lib/services';
import { startSocketLoad, type SocketLoad } from '../lib/socket-load';
import { median } from '../lib/stats';
import type { BenchContext } from './context';

/**
 * (b1) What an `audio:level` costs the node that receives it: CPU microseconds per level at a
 * fixed rate both servers sustain (5 000 levels/s), from the server process's own CPU counters
 * (/proc), less its idle rate. Attached participants (rooms of 10) send quiet levels (-60 dBFS:
 * nobody starts speaking). Ours: one node in cluster mode, Redis commands per level counted with
 * INFO commandstats (less the idle rate). Baseline: bare Socket.IO receiving and dropping the
 * same events from the same number of sockets (bench/baselines/socketio.ts).
 *
 * Both servers hold their sockets at once and are measured in alternating windows (ours, bare,
 * ours, …), so a change in the machine's load during the run falls on both; each side's figure is
 * the median of its windows. A side's idle rate is the median of its CPU rates while the other
 * side's windows run (it gets nothing then), one sample per window, as long as the window: a
 * single sample taken after the warm-up can catch a garbage collection of the warm-up's garbage
 * (the bare server once idled at 36.6 ms per second, 7 µs a level at this rate).
 */
const rate = 5_000;
const quietDb = -60;
const perRoom = 9;

interface Side {
  name: string;
  server: Proc;
  load: SocketLoad;
  /** The server's CPU ms in each of its windows, and the levels and seconds of each. */
  windows: { cpuMs: number; sent: number; seconds: number }[];
  /** The server's CPU ms per second while the other side's windows ran. */
  idle: number[];
}

/** One window of `side`: `rate` levels/s for `ms`, while `other` gets nothing and samples its idle rate. */
async function window(side: Side, other: Side, ms: number, sockets: number): Promise<void> {
  const before = side.server.cpuMs();
  const otherBefore = other.server.cpuMs();
  const sent = await side.load.levels(rate, ms, quietDb);
  side.windows.push({ cpuMs: side.server.cpuMs() - before, sent: sent.sent, seconds: sent.seconds });
  other.idle.push((other.server.cpuMs() - otherBefore) / sent.seconds);
  if (sent.connected !== sockets) throw new Error(`(b1) ${side.name}: ${sent.connected}/${sockets} sockets still connected`);
  if (sent.sent / sent.seconds < rate * 0.95) throw new Error(`(b1) ${side.name}: the load sent only ${(sent.sent / sent.seconds).toFixed(0)} levels/s`);
}

/** CPU µs per level in each of the side's windows, less its idle rate. */
const perLevel = (side: Side) => side.windows.map((w) => ((w.cpuMs - median(side.idle) * w.seconds) * 1000) / w.sent);

export async function levels(context: BenchContext): Promise<Row[]> {
  const sockets = context.quick ? 200 : 600;
  const windows = context.quick ? 3 : 5;
  const windowMs = context.quick ? 1_500 : 6_000;
  const redis = new Redis(benchRedisUrl);
  const cluster = await startCluster(1, { RECONNECT_GRACE_S: '3600' });
  const baseline = await forkHelper('bench/baselines/socketio.ts');
  const loads = await Promise.all([startSocketLoad(2), startSocketLoad(2)]);
  try {
    context.log(
      `(b1) audio levels: ours (1 node, cluster mode) and bare Socket.IO, ${sockets} sockets each, ${rate}/s in ${windows} windows of ${windowMs} ms each`,
    );
    const node = cluster.nodes[0]!;
    // Seated over REST before their sockets open: a grace past the run keeps the first seated
    // (joined, no socket yet) from timing out while the rest are seated.
    await loads[0].open(node.url, await seatGuests(node.url, await registerHost(node.url), sockets, perRoom));
    await loads[1].open(
      baseline.hello.url as string,
      Array.from({ length: sockets }, (_, i) => ({ roomCode: `room-${Math.floor(i / perRoom)}` })),
    );
    const ours: Side = { name: 'ours', server: node, load: loads[0], windows: [], idle: [] };
    const bare: Side = { name: 'bare Socket.IO', server: baseline, load: loads[1], windows: [], idle: [] };
    for (const side of [ours, bare]) await side.load.levels(rate, context.quick ? 1_000 : 3_000, quietDb); // warm-up: JIT
    await sleep(500);

    // The node's own background commands (heartbeat, deadline poll) while nothing happens.
    const idleSeconds = context.quick ? 1 : 3;
    const idleFrom = await redisCommandCount(redis);
    await sleep(idleSeconds * 1000);
    const idleCommandsPerSecond = ((await redisCommandCount(redis)) - idleFrom - 1) / idleSeconds;
    let commands = 0;
    let levelSeconds = 0;
    for (let w = 0; w < windows; w++) {
      const before = await redisCommandCount(redis);
      const started = performance.now();
      await window(ours, bare, windowMs, sockets);
      levelSeconds += (performance.now() - started) / 1000;
      commands += (await redisCommandCount(redis)) - before - 1; // each count is itself one INFO command
      await sleep(300);
      await window(bare, ours, windowMs, sockets);
      await sleep(300);
    }
    const [oursUs, bareUs] = [ours, bare].map(perLevel) as [number[], number[]];
    const figures = (us: number[]) => us.map((value) => value.toFixed(1));
    const logSide = (side: Side, us: number[]) =>
      context.log(
        `(b1) ${side.name}: ${figures(us).join(', ')} µs CPU per level; idle ${side.idle.map((ms) => ms.toFixed(1)).join(', ')} ms CPU per s (median subtracted)`,
      );
    logSide(ours, oursUs);
    logSide(bare, bareUs);
    const commandsPerLevel = Math.max(0, commands - idleCommandsPerSecond * levelSeconds) / (rate * levelSeconds);
    context.log(`(b1) ours: ${commands} Redis commands during the windows, ${(idleCommandsPerSecond * levelSeconds).toFixed(0)} expected idle`);
    const describe = (side: Side, us: number[]) => `${side.name} ${figures(us).join(' / ')} µs`;
    return [
      {
        id: 'b1.cpu',
        benchmark: `(b1) node CPU per audio:level at ${rate.toLocaleString('en-US')}/s`,
        unit: 'µs',
        better: 'lower',
        figure: median(oursUs),
        baseline: median(bareUs),
        baselineName: 'bare Socket.IO, receive and drop',
        target: { ratio: 1.3 },
        detail: `${sockets} sockets in rooms of ${perRoom + 1}, median of ${windows} alternating windows of ${windowMs / 1000} s, less the idle CPU rate (sampled while the other side's windows ran): ${describe(ours, oursUs)}; ${describe(bare, bareUs)}`,
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
    await Promise.all(loads.map((load) => load.stop()));
    await baseline.stop();
    await cluster.close();
    await deletePrefix(cluster.prefix);
    await redis.quit();
  }
}
