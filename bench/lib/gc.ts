import { once } from 'node:events';
import WebSocket from 'ws';

/**
 * Runs a full garbage collection in another Node process through its inspector (started with
 * `--inspect=127.0.0.1:PORT`), so a memory reading counts what the process keeps, not garbage
 * it has yet to collect. Works the same for our nodes and for a baseline.
 */
export async function collectGarbage(inspectPort: number): Promise<void> {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(target!.webSocketDebuggerUrl);
  await once(socket, 'open');
  const done = new Promise<void>((resolve) => socket.on('message', (data) => (JSON.parse(String(data)) as { id?: number }).id === 1 && resolve()));
  socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  await done;
  socket.close();
}
