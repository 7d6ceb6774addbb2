import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './ports';
import { killAll, redisAnswers, serveRedis, until } from './redis-servers';

/**
 * A Redis Cluster of the test's own: three primaries (no replicas) on free loopback ports, each
 * with its cluster bus on another free port, the 16 384 slots split between them by
 * `redis-cli --cluster create`, as an operator would build one.
 */
export interface RedisClusterSet {
  /** For REDIS_CLUSTER_NODES. */
  nodes: string;
  /** A client of the cluster for the test's own reads (closed with the set). */
  client: Cluster;
  /** For each primary's port, how many keys it holds (DBSIZE). */
  keysPerPrimary(): Promise<Map<number, number>>;
  close(): Promise<void>;
}

export async function startRedisCluster(primaries = 3): Promise<RedisClusterSet> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  const processes: ChildProcess[] = [];
  const ports: number[] = [];
  let client: Cluster | undefined;
  try {
    for (let i = 0; i < primaries; i++) {
      const [port, busPort] = [await freePort(), await freePort()];
      ports.push(port);
      processes.push(
        serveRedis([
          ...['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--dir', dir],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'],
          ...['--save', '', '--appendonly', 'no'],
        ]),
      );
    }
    await Promise.all(ports.map(redisAnswers));
    const create = spawn('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    create.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    create.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(create, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}):\n${output}`);
    // Every primary must agree the cluster is whole before a client can rely on the slot map.
    for (const port of ports) {
      const probe = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      probe.on('error', () => undefined);
      try {
        await until(`the cluster state on ${port}`, async () => ((await probe.call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok') || undefined);
      } finally {
        probe.disconnect();
      }
    }
    const cluster = new Cluster(
      ports.map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { maxRetriesPerRequest: 3, disconnectTimeout: 500 } },
    );
    client = cluster;
    cluster.on('error', () => undefined);
    await until('a client to learn the slots', async () => (cluster.status === 'ready' ? true : undefined));
    return {
      nodes: ports.map((port) => `127.0.0.1:${port}`).join(','),
      client: cluster,
      async keysPerPrimary() {
        const counts = new Map<number, number>();
        for (const node of cluster.nodes('master')) counts.set(node.options.port!, await node.dbsize());
        return counts;
      },
      async close() {
        cluster.disconnect();
        await killAll(processes);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    client?.disconnect();
    await killAll(processes);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
