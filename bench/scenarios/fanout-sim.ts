import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildSync } from 'esbuild';
import { Redis } from 'ioredis';
import { forkHelper, repoRoot, type Forked } from '../lib/processes';
import type { Row } from '../lib/report';
import { benchRedisUrl } from '../lib/services';
import type { BenchContext } from './context';

/**
 * (k) A simulation of what a cluster many times larger than this machine does to each node:
 * 2 to 32 (8 in a quick run) lightweight node processes (bench/load/fanout-node.ts: bare Socket.IO with the Redis
 * adapter, placeholder sockets, no HTTP, no database) on the bench's one Redis. Each node holds
 * 20 rooms of its own and is a member of its neighbour's 20 too (a room's sockets on two nodes),
 * and broadcasts 40 room events a second to its own rooms: the load per node stays the same as
 * nodes are added, as when a cluster grows with its users. Per node: the messages its
 * subscriber connection receives from Redis, and the CPU it spends (process.cpuUsage, sending
 * its own events included). Also Redis's CPU per event (INFO cpu).
 *
 * With the pub/sub adapter every node receives every event of the cluster; with the sharded one
 * (`subscriptionMode: 'dynamic'`, ours) only the events of the rooms it holds. At the largest
 * size the same is measured for events sent to one socket (as `rtc:signal` is), which the
 * sharded adapter in `dynamic` mode sends to every node, and in `dynamic-private` mode only to
 * the socket's own node.
 *
 * Each row's baseline is the pub/sub adapter at the same size, in the same run.
 */
/** A quick run stops at 8: starting 32 processes takes half a minute on 2 busy cores. */
const sizesOf = (context: BenchContext) => (context.quick ? [2, 8] : [2, 8, 16, 32]);
const roomsPerNode = 20;
const socketsPerNode = 20;
const ratePerNode = 40;
/** A room's sockets are on its own node and the next one. */
const spread = 2;

type Adapter = 'redis' | 'redis-sharded' | 'redis-sharded-private';

interface Measured {
  /** Per node: messages received per second, and CPU ms per second. */
  receivedPerSecond: number[];
  cpuMsPerSecond: number[];
  /** Messages each node received per event broadcast anywhere in the cluster (mean over nodes). */
  perClusterEvent: number;
  /** Redis CPU per event broadcast (µs). */
  redisCpuUs: number;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** The CPU a node spends on each message one adapter makes it receive beyond the other's (µs); '—' when it receives few more. */
function extraUs(more: Measured, fewer: Measured): string {
  const messages = mean(more.receivedPerSecond) - mean(fewer.receivedPerSecond);
  if (messages < 0.5 * mean(fewer.receivedPerSecond)) return '—';
  return (((mean(more.cpuMsPerSecond) - mean(fewer.cpuMsPerSecond)) * 1000) / messages).toFixed(0);
}

const range = (values: number[], digits = 0) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (seconds('used_cpu_sys') + seconds('used_cpu_user')) * 1000;
}

/** A Socket.IO id (20 characters) for placeholder socket `s` of node `n`. */
const socketId = (n: number, s: number) => `n${n}s${s}`.padEnd(20, '_');
const roomOf = (n: number, r: number) => `room:n${n}r${r}`;

async function measure(context: BenchContext, procs: Forked[], redis: Redis, adapter: Adapter, size: number, target: 'rooms' | 'sockets'): Promise<Measured> {
  const nodes = procs.slice(0, size);
  const prefix = `fanout-${randomBytes(3).toString('hex')}:`;
  const own = (n: number) => Array.from({ length: roomsPerNode }, (_, r) => roomOf(n, r));
  const sockets = (n: number) => Array.from({ length: socketsPerNode }, (_, s) => socketId(n, s));
  await Promise.all(
    nodes.map((node, n) => {
      const rooms = Array.from({ length: spread }, (_, k) => own((n - k + size) % size)).flat();
      return node.call('setup', { adapter, redisUrl: benchRedisUrl, prefix, rooms, sockets: sockets(n) });
    }),
  );
  try {
    // Rooms: a node's own. Sockets: its neighbour's, so that every event crosses to another node.
    const targets = (n: number) => (target === 'rooms' ? own(n) : sockets((n + 1) % size));
    const ms = context.quick ? 1_500 : 8_000;
    const traffic = async (seconds: number) => {
      const startAt = Date.now() + 300;
      await Promise.all(nodes.map((node, n) => node.call('start', { targets: targets(n), rate: ratePerNode, startAt })));
      await sleep(startAt + seconds * 1000 - Date.now());
      const sent = (await Promise.all(nodes.map((node) => node.call<{ sent: number }>('stop')))).reduce((sum, s) => sum + s.sent, 0);
      // Until every node has received what it will (nothing more arrives for 300 ms).
      const readAll = () => Promise.all(nodes.map((node) => node.call<{ received: number; cpuMs: number }>('read')));
      const total = (reads: { received: number }[]) => reads.reduce((sum, r) => sum + r.received, 0);
      let reads = await readAll();
      for (let last = -1; last !== total(reads);) {
        last = total(reads);
        await sleep(300);
        reads = await readAll();
      }
      return { sent, reads };
    };
    await traffic(0.5); // warm-up
    const redisBefore = await redisCpuMs(redis);
    const { sent, reads } = await traffic(ms / 1000);
    const redisUsed = (await redisCpuMs(redis)) - redisBefore;
    // Per second of traffic; the CPU includes the tail of messages still arriving after it.
    const measured: Measured = {
      receivedPerSecond: reads.map((r) => r.received / (ms / 1000)),
      cpuMsPerSecond: reads.map((r) => r.cpuMs / (ms / 1000)),
      perClusterEvent: mean(reads.map((r) => r.received)) / sent,
      redisCpuUs: (redisUsed * 1000) / sent,
    };
    context.log(
      `(k) ${adapter}, ${size} nodes, events to ${target}: ${sent} events; per node ${range(measured.receivedPerSecond)} messages/s received ` +
        `(${measured.perClusterEvent.toFixed(3)} per event of the cluster), CPU ${range(measured.cpuMsPerSecond, 1)} ms/s; Redis ${measured.redisCpuUs.toFixed(1)} µs CPU per event`,
    );
    return measured;
  } finally {
    await Promise.all(nodes.map((node) => node.call('teardown')));
  }
}

export async function fanoutSimulation(context: BenchContext): Promise<Row[]> {
  const sizes = sizesOf(context);
  const largest = Math.max(...sizes);
  context.log(`(k) fan-out simulation: starting ${largest} node processes`);
  // Built once to plain JavaScript: 32 processes starting under tsx take half a minute on 2 cores.
  buildSync({
    entryPoints: [resolve(repoRoot, 'bench/load/fanout-node.ts')],
    outfile: resolve(repoRoot, 'bench/results/fanout-node.js'),
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  const procs = await Promise.all(Array.from({ length: largest }, () => forkHelper('bench/results/fanout-node.js')));
  const redis = new Redis(benchRedisUrl);
  try {
    const rows: Row[] = [];
    let shardedCpuAtTwo = Number.NaN;
    for (const size of sizes) {
      const plain = await measure(context, procs, redis, 'redis', size, 'rooms');
      const sharded = await measure(context, procs, redis, 'redis-sharded', size, 'rooms');
      if (size === sizes[0]) shardedCpuAtTwo = mean(sharded.cpuMsPerSecond);
      const detail =
        `per node: pub/sub ${range(plain.receivedPerSecond)} messages/s and ${range(plain.cpuMsPerSecond, 1)} ms CPU/s; ` +
        `sharded ${range(sharded.receivedPerSecond)} messages/s and ${range(sharded.cpuMsPerSecond, 1)} ms CPU/s; ` +
        `messages per event of the cluster ${plain.perClusterEvent.toFixed(3)} (pub/sub) and ${sharded.perClusterEvent.toFixed(3)} (sharded); ` +
        `Redis CPU per event ${plain.redisCpuUs.toFixed(1)} and ${sharded.redisCpuUs.toFixed(1)} µs; ` +
        `each message the pub/sub adapter adds costs a node ${extraUs(plain, sharded)} µs`;
      rows.push(
        {
          id: `k.received.${size}`,
          benchmark: `(k) ${size} nodes, each broadcasting ${ratePerNode} room events/s: Redis messages one node receives per second (sharded adapter)`,
          unit: 'msg/s',
          better: 'lower',
          figure: mean(sharded.receivedPerSecond),
          baseline: mean(plain.receivedPerSecond),
          baselineName: 'pub/sub adapter, same nodes',
          // A node hears the rooms it holds (its own and its neighbour's), however many nodes there are.
          target: { figure: spread * ratePerNode * 1.1 },
          detail,
        },
        {
          id: `k.cpu.${size}`,
          benchmark: `(k) ${size} nodes, the same: CPU one node spends per second (sharded adapter)`,
          unit: 'ms/s',
          better: 'lower',
          figure: mean(sharded.cpuMsPerSecond),
          baseline: mean(plain.cpuMsPerSecond),
          baselineName: 'pub/sub adapter, same nodes',
          // Flat: within 1.5 × of the same adapter's figure on 2 nodes.
          target: { figure: shardedCpuAtTwo * 1.5 },
        },
      );
    }
    // Events to one socket (rtc:signal): ours (dynamic) against pub/sub, and dynamic-private.
    const plain = await measure(context, procs, redis, 'redis', largest, 'sockets');
    const dynamic = await measure(context, procs, redis, 'redis-sharded', largest, 'sockets');
    const privateMode = await measure(context, procs, redis, 'redis-sharded-private', largest, 'sockets');
    rows.push(
      {
        id: `k.socket.${largest}`,
        benchmark: `(k) ${largest} nodes, ${ratePerNode} events/s each to one socket (as rtc:signal): messages one node receives per second (sharded, dynamic)`,
        unit: 'msg/s',
        better: 'lower',
        figure: mean(dynamic.receivedPerSecond),
        baseline: mean(plain.receivedPerSecond),
        baselineName: 'pub/sub adapter, same nodes',
        target: {},
        detail: `CPU per node ${range(dynamic.cpuMsPerSecond, 1)} ms/s (sharded, dynamic) against ${range(plain.cpuMsPerSecond, 1)} (pub/sub); Redis CPU per event ${dynamic.redisCpuUs.toFixed(1)} against ${plain.redisCpuUs.toFixed(1)} µs`,
      },
      {
        id: `k.socket-private.${largest}`,
        benchmark: `(k) ${largest} nodes, the same with the sharded adapter's dynamic-private mode`,
        unit: 'msg/s',
        better: 'lower',
        figure: mean(privateMode.receivedPerSecond),
        baseline: mean(plain.receivedPerSecond),
        baselineName: 'pub/sub adapter, same nodes',
        // Each node hears only the events for its own sockets: those its neighbour sends.
        target: { figure: ratePerNode * 1.1 },
        detail: `CPU per node ${range(privateMode.cpuMsPerSecond, 1)} ms/s; Redis CPU per event ${privateMode.redisCpuUs.toFixed(1)} µs`,
      },
    );
    return rows;
  } finally {
    redis.disconnect();
    await Promise.all(procs.map((proc) => proc.stop()));
    await sleep(100);
  }
}
