import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { registerHost, seatGuests } from '../lib/api';
import { collectGarbage } from '../lib/gc';
import { freePort } from '../../test/support/ports';
import { forkHelper, startCluster, type Proc } from '../lib/processes';
import type { Row } from '../lib/report';
import { deletePrefix } from '../lib/services';
import { startSocketLoad, type SocketLoad } from '../lib/socket-load';
import type { BenchContext } from './context';

/**
 * (d) Idle attached sockets at the machine's open-files limit: participants in rooms of 100 each
 * attach one websocket (from four load processes) and stay idle. RSS per connection is the
 * node's growth from before the sockets (after the REST joins, so the rooms' own state is not
 * counted) to after they all attached, each reading taken after the process has been idle for
 * 20 s (2 s in a quick run) and a full garbage collection (through its inspector), so that it
 * counts what the process keeps; the V8 heap used per connection is read at the same moments.
 * Baseline: bare Socket.IO with the same sockets, each joined to a channel of 100, read the same
 * way. As many sockets as the open-files limit allows (less 200 for pools and Redis); what more
 * sockets would take is an extrapolation from the per-socket cost (docs/capacity.md).
 */
const perRoom = 100;

/** The open-files limit this process (and so each node it starts) runs under. */
function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = Number(line?.split(/\s{2,}/)[1]);
  return Number.isFinite(soft) ? soft : 1024;
}

/**
 * RSS once the process has been idle long enough for V8's memory reducer to give back the heap
 * it committed while busy (it acts some seconds after allocation stops), then collected its
 * garbage (through its inspector). Read a second after the last socket attached, our node held
 * 55 MiB of committed, empty heap at 10 000 sockets, bare Socket.IO 4 MiB; 20 s later most of
 * it was back (bench/heap-per-socket.ts, docs/performance.md).
 */
async function settledMemory(proc: Proc, inspectPort: number, idleMs: number): Promise<{ rss: number; heapUsed: number; heapCommitted: number }> {
  await sleep(idleMs);
  const heap = await collectGarbage(inspectPort);
  await sleep(1_000);
  return { rss: proc.rss(), heapUsed: heap.usedBytes, heapCommitted: heap.committedBytes };
}

async function hold(
  context: BenchContext,
  name: string,
  load: SocketLoad,
  proc: Proc,
  inspectPort: number,
  url: string,
  clients: { token?: string; roomCode: string }[],
) {
  const idleMs = context.quick ? 2_000 : 20_000;
  const before = await settledMemory(proc, inspectPort, idleMs);
  const opened = await load.open(url, clients);
  const after = await settledMemory(proc, inspectPort, idleMs);
  const held = await load.connected();
  const kib = (after.rss - before.rss) / held / 1024;
  const heapKib = (after.heapUsed - before.heapUsed) / held / 1024;
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  context.log(
    `(d) ${name}: ${held}/${opened} sockets held; RSS ${mib(before.rss)} → ${mib(after.rss)} MiB, ${kib.toFixed(1)} KiB per connection; heap used ${mib(before.heapUsed)} → ${mib(after.heapUsed)} MiB, ${heapKib.toFixed(1)} KiB per connection; heap committed ${mib(before.heapCommitted)} → ${mib(after.heapCommitted)} MiB`,
  );
  await load.closeSockets();
  return { held, kib, heapKib, rss: after.rss };
}

export async function idle(context: BenchContext): Promise<Row[]> {
  const limit = openFilesLimit();
  // Each socket is a file descriptor of the node: keep clear of the limit (pools, Redis, epoll).
  const sockets = context.quick ? 400 : limit - 200;
  const load = await startSocketLoad(4);
  try {
    context.log(`(d) idle sockets: ours (1 node, cluster mode), ${sockets} sockets (open-files limit ${limit})`);
    const oursInspector = await freePort();
    // Seating 20 000 guests over REST takes longer than the reconnect grace (30 s) a joined user
    // without a socket gets; the bench seats everyone before it opens the sockets, so the grace
    // is set past the run (it is not what this row measures).
    const cluster = await startCluster(1, { RECONNECT_GRACE_S: '3600' }, [`--inspect=127.0.0.1:${oursInspector}`]);
    let ours: Awaited<ReturnType<typeof hold>>;
    try {
      const node = cluster.nodes[0]!;
      const clients = await seatGuests(node.url, await registerHost(node.url), sockets, perRoom);
      ours = await hold(context, 'ours', load, node, oursInspector, node.url, clients);
    } finally {
      await cluster.close();
      await deletePrefix(cluster.prefix);
    }
    context.log(`(d) idle sockets: baseline (bare Socket.IO), ${sockets} sockets`);
    const baselineInspector = await freePort();
    const baseline = await forkHelper('bench/baselines/socketio.ts', {}, [`--inspect=127.0.0.1:${baselineInspector}`]);
    let bare: Awaited<ReturnType<typeof hold>>;
    try {
      const url = baseline.hello.url as string;
      bare = await hold(
        context,
        'baseline',
        load,
        baseline,
        baselineInspector,
        url,
        Array.from({ length: sockets }, (_, i) => ({ roomCode: `room-${Math.floor(i / perRoom)}` })),
      );
    } finally {
      await baseline.stop();
    }
    return [
      {
        id: 'd.sockets',
        benchmark: '(d) idle attached sockets one node holds',
        unit: 'sockets',
        better: 'higher',
        figure: ours.held,
        baseline: bare.held,
        baselineName: 'bare Socket.IO, same sockets',
        target: { figure: sockets },
        detail: `${sockets} sockets opened (open-files limit ${limit}, less 200); ours RSS ${(ours.rss / 2 ** 20).toFixed(0)} MiB with them, baseline ${(bare.rss / 2 ** 20).toFixed(0)} MiB`,
      },
      {
        id: 'd.memory',
        benchmark: '(d) RSS per idle attached socket',
        unit: 'KiB',
        better: 'lower',
        figure: ours.kib,
        baseline: bare.kib,
        baselineName: 'bare Socket.IO, same sockets',
        target: { ratio: 1.3 },
      },
      {
        id: 'd.heap',
        benchmark: '(d) V8 heap used per idle attached socket',
        unit: 'KiB',
        better: 'lower',
        figure: ours.heapKib,
        baseline: bare.heapKib,
        baselineName: 'bare Socket.IO, same sockets',
        target: {},
      },
    ];
  } finally {
    await load.stop();
  }
}
