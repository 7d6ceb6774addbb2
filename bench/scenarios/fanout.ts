import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import { call, createRoom, join, registerHost } from '../lib/api';
import { attachedSocket, nextEvent } from '../lib/client';
import { startCluster, type ServerNode } from '../lib/processes';
import type { Row } from '../lib/report';
import { deletePrefix } from '../lib/services';
import type { BenchContext } from './context';

/**
 * (i) What one room event costs the nodes that have nothing to do with the room: Redis pub/sub
 * messages each node receives (and must decode) per room event, with 1, 2 and 4 nodes (a quick run: 1 and 4), under the
 * pub/sub adapter and the sharded one. The rooms live on the first node with all their sockets;
 * the events are `room:updated` (a settings change, one broadcast each). Read from each node's
 * `socketio_adapter_messages_received_total`, less what the nodes received while idle for as
 * long. The streams adapter is not measured: every node reads its whole stream by design.
 *
 * The baseline of each row is the same adapter on one node.
 */
/** A quick run skips 2 nodes. */
const sizesOf = (context: BenchContext) => (context.quick ? [1, 4] : [1, 2, 4]);
const adapters = ['redis', 'redis-sharded'] as const;

async function received(node: ServerNode): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/^socketio_adapter_messages_received_total(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}
const receivedBy = (nodes: ServerNode[]) => Promise.all(nodes.map(received));

/** Messages per room event on each node other than the rooms' own (all nodes on one node). */
async function measure(context: BenchContext, adapter: (typeof adapters)[number], size: number): Promise<number[]> {
  const cluster = await startCluster(size, { SOCKET_ADAPTER: adapter });
  const sockets: Socket[] = [];
  try {
    const nodes = cluster.nodes;
    const [home] = nodes as [ServerNode];
    const host = await registerHost(home.url);
    const rooms: string[] = [];
    for (let i = 0; i < 10; i++) {
      const code = await createRoom(home.url, host);
      await join(home.url, code, host);
      sockets.push(await attachedSocket(home.url, code, host.token));
      rooms.push(code);
    }
    const events = context.quick ? 50 : 400;
    const settle = 1_000;
    const idleBefore = await receivedBy(nodes);
    await sleep(settle);
    const idle = (await receivedBy(nodes)).map((n, i) => n - idleBefore[i]!);
    const before = await receivedBy(nodes);
    const startedAt = performance.now();
    for (let i = 0; i < events; i++) {
      const code = rooms[i % rooms.length]!;
      const heard = nextEvent(sockets[i % rooms.length]!, 'room:updated');
      await call(home.url, 'PATCH', `/meetings/${code}/config`, host.token, { enable_transcription: Math.floor(i / rooms.length) % 2 === 0 });
      await heard;
    }
    const elapsed = performance.now() - startedAt;
    const after = await receivedBy(nodes);
    const perEvent = after.map((n, i) => Math.max(0, n - before[i]! - (idle[i]! * elapsed) / settle) / events);
    context.log(
      `(i) ${adapter}, ${size} node(s): ${events} room events; messages received per event, by node: ${perEvent.map((n) => n.toFixed(2)).join(', ')}`,
    );
    return perEvent;
  } finally {
    for (const socket of sockets) socket.close();
    await cluster.close();
    await deletePrefix(cluster.prefix);
  }
}

export async function fanout(context: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const adapter of adapters) {
    const sizes = sizesOf(context);
    const measured: number[][] = [];
    for (const size of sizes) measured.push(await measure(context, adapter, size));
    // On one node the room's own node is the only one: its figure is the baseline.
    const [one] = measured as [number[]];
    for (const [i, size] of sizes.entries()) {
      if (size === 1) continue;
      const others = measured[i]!.slice(1);
      rows.push({
        id: `i.${adapter}.${size}`,
        benchmark: `(i) ${adapter} adapter, ${size} nodes: pub/sub messages a node without the room's sockets receives per room event`,
        unit: 'msg',
        better: 'lower',
        figure: Math.max(...others),
        baseline: one[0]!,
        baselineName: 'the room’s node, 1 node',
        // The sharded adapter's promise: a node that serves none of the room hears none of it.
        target: adapter === 'redis-sharded' ? { figure: 0.05 } : {},
        detail: `per node (the room's first): ${measured[i]!.map((n) => n.toFixed(2)).join(', ')}`,
      });
    }
  }
  return rows;
}
