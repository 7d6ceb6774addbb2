import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { waitFor } from './db';
import { freePort } from './ports';
import { request, type Endpoint } from './server';

/**
 * The shipped HAProxy configuration (deploy/haproxy.cfg) in front of two nodes, on a loopback
 * port of its own: round-robin for new clients, then the `MRNODE` cookie (node1, node2) keeps
 * each client on its node.
 */
export interface LoadBalancer extends Endpoint {
  close(): Promise<void>;
}

export async function startHaproxy(nodes: [Endpoint, Endpoint]): Promise<LoadBalancer> {
  const port = await freePort();
  const [node1, node2] = nodes.map((node) => new URL(node.url).host) as [string, string];
  const haproxy = spawn('haproxy', ['-db', '-f', resolve(__dirname, '../../deploy/haproxy.cfg')], {
    env: { ...process.env, LB_BIND: `127.0.0.1:${port}`, NODE1: node1, NODE2: node2 },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const errors: string[] = [];
  haproxy.stderr!.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
  const exited = once(haproxy, 'exit');
  const close = async () => {
    if (haproxy.exitCode !== null) return;
    haproxy.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const lb: LoadBalancer = { url, request: (method, path, options) => request(url, method, path, options), close };
  try {
    await waitFor(async () => (await lb.request('GET', '/readyz').catch(() => ({ status: 0 }))).status === 200, 10_000);
  } catch (error) {
    await close();
    throw new Error(`${(error as Error).message}; haproxy said:\n${errors.join('')}`, { cause: error });
  }
  return lb;
}
