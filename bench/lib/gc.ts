import { once } from 'node:events';
import WebSocket from 'ws';

/**
 * Runs a full garbage collection in another Node process through its inspector (started with
 * `--inspect=127.0.0.1:PORT`), so a memory reading counts what the process keeps, not garbage
 * it has yet to collect. Works the same for our nodes and for a baseline. Returns the V8 heap
 * after the collection: bytes used, and bytes committed to the heap.
 */
export async function collectGarbage(inspectPort: number): Promise<{ usedBytes: number; committedBytes: number }> {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(target!.webSocketDebuggerUrl);
  await once(socket, 'open');
  const replies = new Map<number, (result: unknown) => void>();
  socket.on('message', (data) => {
    const reply = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (reply.id !== undefined) replies.get(reply.id)?.(reply.result);
  });
  const call = <T>(id: number, method: string) =>
    new Promise<T>((resolve) => {
      replies.set(id, resolve as (result: unknown) => void);
      socket.send(JSON.stringify({ id, method }));
    });
  try {
    await call(1, 'HeapProfiler.collectGarbage');
    const heap = await call<{ usedSize: number; totalSize: number }>(2, 'Runtime.getHeapUsage');
    return { usedBytes: heap.usedSize, committedBytes: heap.totalSize };
  } finally {
    socket.close();
  }
}
