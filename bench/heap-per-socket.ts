import { once } from 'node:events';
import WebSocket from 'ws';
import { registerHost, seatGuests } from './lib/api';
import { collectGarbage } from './lib/gc';
import { freePort } from './lib/ports';
import { startCluster } from './lib/processes';
import { deletePrefix, prepareDatabase, startRedis } from './lib/services';
import { startSocketLoad } from './lib/socket-load';

/**
 * `npm run build && npx tsx bench/heap-per-socket.ts [sockets]`: where the bytes of an idle
 * attached socket go, for row (d). One node (cluster mode), participants in rooms of 100; a heap
 * snapshot before and after their sockets attach, both after a full GC; prints the JavaScript
 * heap's growth per socket by object type and constructor. (RSS also holds what the heap does
 * not: socket buffers, zlib, the allocator's slack.)
 */
type Totals = Map<string, { bytes: number; count: number }>;

async function heapByConstructor(inspectPort: number): Promise<Totals> {
  await collectGarbage(inspectPort);
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(target!.webSocketDebuggerUrl, { maxPayload: 1 << 30 });
  await once(socket, 'open');
  const chunks: string[] = [];
  const done = new Promise<void>((resolve) =>
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; method?: string; params?: { chunk: string } };
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(message.params!.chunk);
      if (message.id === 1) resolve();
    }),
  );
  socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.takeHeapSnapshot', params: { reportProgress: false } }));
  await done;
  socket.close();
  const snapshot = JSON.parse(chunks.join('')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const totals: Totals = new Map();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const name = type === 'object' || type === 'closure' || type === 'native' ? snapshot.strings[snapshot.nodes[i + nameAt]!]! : '';
    const key = `${type} ${name}`.trim().slice(0, 60);
    const entry = totals.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += snapshot.nodes[i + sizeAt]!;
    entry.count += 1;
    totals.set(key, entry);
  }
  return totals;
}

async function main() {
  const sockets = Number(process.argv[2] ?? 2000);
  await prepareDatabase();
  const stopRedis = await startRedis();
  const inspectPort = await freePort();
  const cluster = await startCluster(1, { RECONNECT_GRACE_S: '3600' }, [`--inspect=127.0.0.1:${inspectPort}`]);
  const load = await startSocketLoad(2);
  try {
    const node = cluster.nodes[0]!;
    const clients = await seatGuests(node.url, await registerHost(node.url), sockets, 100);
    const before = await heapByConstructor(inspectPort);
    await load.open(node.url, clients);
    const held = await load.connected();
    const after = await heapByConstructor(inspectPort);
    const rows = [...after]
      .map(([key, { bytes, count }]) => ({ key, bytes: bytes - (before.get(key)?.bytes ?? 0), count: count - (before.get(key)?.count ?? 0) }))
      .sort((a, b) => b.bytes - a.bytes);
    const total = rows.reduce((sum, row) => sum + row.bytes, 0);
    console.log(`${held} sockets held; JavaScript heap +${(total / held / 1024).toFixed(2)} KiB per socket`);
    console.log('bytes/socket  objects/socket  type and constructor');
    for (const row of rows.slice(0, 30)) console.log(`${(row.bytes / held).toFixed(0).padStart(11)}  ${(row.count / held).toFixed(2).padStart(14)}  ${row.key}`);
    await load.closeSockets();
  } finally {
    await load.stop();
    await cluster.close();
    await deletePrefix(cluster.prefix);
    await stopRedis();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
