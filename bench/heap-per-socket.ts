import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { registerHost, seatGuests } from './lib/api';
import { collectGarbage } from './lib/gc';
import { freePort } from '../test/support/ports';
import { forkHelper, startCluster } from './lib/processes';
import { deletePrefix, prepareDatabase, startRedis } from './lib/services';
import { startSocketLoad } from './lib/socket-load';

/**
 * `npm run build && npx tsx bench/heap-per-socket.ts [sockets]`: where the bytes of an idle
 * attached socket go, for row (d). One node (cluster mode), participants in rooms of 100, then
 * row (d)'s baseline (bare Socket.IO, the same sockets); for each, a heap snapshot before and
 * after the sockets attach, both after a full GC. Prints the JavaScript heap's growth per socket
 * by object type and constructor, ours next to bare, largest difference first. (RSS also holds
 * what the heap does not: socket buffers, the allocator's slack.)
 */
type Totals = Map<string, { bytes: number; count: number }>;
const perRoom = 100;
const idleMs = 20_000;

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

/** The process's `process.memoryUsage()`, through its inspector. */
async function memoryUsage(inspectPort: number): Promise<NodeJS.MemoryUsage> {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(target!.webSocketDebuggerUrl);
  await once(socket, 'open');
  const reply = new Promise<NodeJS.MemoryUsage>((resolve) =>
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: { result: { value: NodeJS.MemoryUsage } } };
      if (message.id === 1) resolve(message.result!.result.value);
    }),
  );
  socket.send(
    JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: 'process.memoryUsage()', returnByValue: true, includeCommandLineAPI: true } }),
  );
  const usage = await reply;
  socket.close();
  return usage;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const describeUsage = (u: NodeJS.MemoryUsage) => `rss ${mib(u.rss)}, heap used ${mib(u.heapUsed)} of ${mib(u.heapTotal)}, external ${mib(u.external)}`;

/** Heap growth per socket, by type and constructor, while `clients` attach to `url`. */
async function growth(inspectPort: number, url: string, clients: { token?: string; roomCode: string }[]) {
  const load = await startSocketLoad(2);
  try {
    const before = await heapByConstructor(inspectPort);
    const usageBefore = await memoryUsage(inspectPort);
    await load.open(url, clients);
    const held = await load.connected();
    await collectGarbage(inspectPort);
    const usageAfter = await memoryUsage(inspectPort);
    console.log(`  before: ${describeUsage(usageBefore)}\n  after ${held} sockets and a GC: ${describeUsage(usageAfter)}`);
    // V8's memory reducer gives committed heap back some seconds after allocation stops.
    await sleep(idleMs);
    await collectGarbage(inspectPort);
    console.log(`  ${idleMs / 1000} s later, after another GC: ${describeUsage(await memoryUsage(inspectPort))}`);
    const after = await heapByConstructor(inspectPort);
    await load.closeSockets();
    const perSocket = new Map<string, { bytes: number; count: number }>();
    for (const [key, { bytes, count }] of after) {
      perSocket.set(key, { bytes: (bytes - (before.get(key)?.bytes ?? 0)) / held, count: (count - (before.get(key)?.count ?? 0)) / held });
    }
    return { held, perSocket };
  } finally {
    await load.stop();
  }
}

async function main() {
  const sockets = Number(process.argv[2] ?? 2000);
  await prepareDatabase();
  const stopRedis = await startRedis();
  const oursPort = await freePort();
  const cluster = await startCluster(1, { RECONNECT_GRACE_S: '3600' }, [`--inspect=127.0.0.1:${oursPort}`]);
  let ours: Awaited<ReturnType<typeof growth>>;
  try {
    const node = cluster.nodes[0]!;
    ours = await growth(oursPort, node.url, await seatGuests(node.url, await registerHost(node.url), sockets, perRoom));
  } finally {
    await cluster.close();
    await deletePrefix(cluster.prefix);
    await stopRedis();
  }
  // The same sockets on bare Socket.IO, each joined to a channel of `perRoom` (as row (d)'s baseline).
  const barePort = await freePort();
  const baseline = await forkHelper('bench/baselines/socketio.ts', {}, [`--inspect=127.0.0.1:${barePort}`]);
  let bare: Awaited<ReturnType<typeof growth>>;
  try {
    bare = await growth(
      barePort,
      baseline.hello.url as string,
      Array.from({ length: sockets }, (_, i) => ({ roomCode: `room-${Math.floor(i / perRoom)}` })),
    );
  } finally {
    await baseline.stop();
  }
  const total = (m: Map<string, { bytes: number }>) => [...m.values()].reduce((sum, v) => sum + v.bytes, 0);
  console.log(
    `${ours.held} sockets (ours), ${bare.held} (bare Socket.IO); JavaScript heap per socket: ours ${(total(ours.perSocket) / 1024).toFixed(2)} KiB, bare ${(total(bare.perSocket) / 1024).toFixed(2)} KiB`,
  );
  console.log('ours B/socket  bare B/socket  ours obj  bare obj  type and constructor (by the difference)');
  const keys = [...new Set([...ours.perSocket.keys(), ...bare.perSocket.keys()])];
  const of = (m: Map<string, { bytes: number; count: number }>, k: string) => m.get(k) ?? { bytes: 0, count: 0 };
  keys.sort((a, b) => of(ours.perSocket, b).bytes - of(bare.perSocket, b).bytes - (of(ours.perSocket, a).bytes - of(bare.perSocket, a).bytes));
  for (const k of keys.slice(0, 25)) {
    const o = of(ours.perSocket, k);
    const b = of(bare.perSocket, k);
    console.log(
      `${o.bytes.toFixed(0).padStart(13)}  ${b.bytes.toFixed(0).padStart(13)}  ${o.count.toFixed(2).padStart(8)}  ${b.count.toFixed(2).padStart(8)}  ${k}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
