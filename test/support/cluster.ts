import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Cluster, Redis } from 'ioredis';
import { ownerKey } from '../../src/live-state/redis-keys';
import { testDatabaseUrl, testRedisUrl } from './env';
import { deleteRedisPrefix } from './redis';
import { request, type Endpoint } from './server';

/**
 * A cluster of real server processes (`src/main.ts` under tsx) on the test PostgreSQL and Redis,
 * sharing one JWT secret and one Redis prefix of their own, so tests can kill, pause and stop
 * nodes as an operator would.
 */
export interface ClusterNode extends Endpoint {
  id: string;
  process: ChildProcess;
  /** Every log line the node printed (JSON), for asserting on what it did. */
  logs: string[];
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface TestCluster {
  nodes: ClusterNode[];
  prefix: string;
  /** A client of the cluster's Redis (or Redis Cluster), for the test's own reads. */
  redis: Redis | Cluster;
  /** Starts one more node with the cluster's settings. */
  addNode(env?: Record<string, string>): Promise<ClusterNode>;
  /** The node id recorded as the room's owner (`room:{code}:owner`), or null. */
  ownerOf(roomCode: string): Promise<string | null>;
  close(): Promise<void>;
}

const repoRoot = resolve(__dirname, '../..');

export async function startCluster(size: number, env: Record<string, string> = {}): Promise<TestCluster> {
  const prefix = `test-${randomBytes(4).toString('hex')}:`;
  const secret = randomBytes(32).toString('base64url');
  const nodes: ClusterNode[] = [];
  // A test may point the cluster at a Redis of its own (private-redis.ts) with REDIS_URL, or at a
  // Redis Cluster of its own (redis-cluster.ts) with REDIS_CLUSTER_NODES.
  const redisUrl = env.REDIS_URL ?? testRedisUrl;
  const redis = env.REDIS_CLUSTER_NODES
    ? new Cluster(
        env.REDIS_CLUSTER_NODES.split(',').map((node) => ({ host: node.split(':')[0], port: Number(node.split(':')[1]) })),
        { redisOptions: { maxRetriesPerRequest: 3, disconnectTimeout: 500 } },
      )
    : new Redis(redisUrl, { maxRetriesPerRequest: 3, disconnectTimeout: 500 });
  // A test that stops its Redis sees the refusals in its own requests; the event says nothing more.
  redis.on('error', () => undefined);
  let started = 0;
  const addNode = async (extra: Record<string, string> = {}) => {
    started += 1;
    const node = await startNode({
      NODE_ID: `n${started}-${randomBytes(2).toString('hex')}`,
      JWT_SECRET: secret,
      REDIS_PREFIX: prefix,
      ...env,
      ...extra,
    });
    nodes.push(node);
    return node;
  };
  // Every start is waited for before a failure is thrown, so no node that came up late is left running.
  const starts = await Promise.allSettled(Array.from({ length: size }, () => addNode()));
  const failed = starts.find((start) => start.status === 'rejected');
  if (failed) {
    await Promise.all(nodes.map(stopNode));
    await redis.quit();
    throw failed.reason;
  }
  // Started in parallel: keep them in id order, so nodes[0] is n1.
  nodes.sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    nodes,
    prefix,
    redis,
    addNode,
    ownerOf: async (roomCode) => (await redis.hget(ownerKey(prefix, roomCode), 'node')) || null,
    async close() {
      await Promise.all(nodes.map(stopNode));
      if (redisUrl === testRedisUrl && !env.REDIS_CLUSTER_NODES) await deleteRedisPrefix(prefix);
      redis.disconnect();
    },
  };
}

/** Spawns one node and resolves once it listens (its log line gives the port). */
export async function startNode(env: Record<string, string>): Promise<ClusterNode> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      PORT: '0',
      DATABASE_URL: testDatabaseUrl,
      REDIS_URL: testRedisUrl,
      MIGRATE_ON_START: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const lines = createInterface({ input: child.stdout! });
  child.stderr!.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    // A node that does not come up is killed, not left running beside the next test's.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${env.NODE_ID} did not start:\n${logs.join('\n')}`));
    }, 20_000);
    lines.on('line', (line) => {
      logs.push(line);
      if (!line.includes('listening on')) return;
      clearTimeout(timer);
      resolveUrl((JSON.parse(line) as { url: string }).url.replace('localhost', '127.0.0.1'));
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`node ${env.NODE_ID} exited with ${code}:\n${logs.join('\n')}`));
    });
  });
  return { id: env.NODE_ID!, process: child, logs, exited, url, request: (method, path, options) => request(url, method, path, options) };
}

/** Stops a node if it still runs (SIGKILL: tests that care about shutdown send their own signals). */
async function stopNode(node: ClusterNode): Promise<void> {
  if (node.process.exitCode !== null || node.process.signalCode !== null) return;
  node.process.kill('SIGCONT');
  node.process.kill('SIGKILL');
  await node.exited;
}
