import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/support/ports';
import { benchDatabaseUrl, benchRedisUrl, deletePrefix, prepareDatabase, startRedis } from './services';

/**
 * The processes a benchmark runs: our server nodes (the built `dist/`, as `npm start` runs
 * them) and forked helpers (baseline servers and load workers, under tsx, with an IPC channel).
 */
export const repoRoot = resolve(__dirname, '../..');

export interface Proc {
  pid: number;
  process: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resident set size now, from /proc (bytes). */
  rss(): number;
  /** CPU time used so far, user + system, from /proc (ms). */
  cpuMs(): number;
  /** CPU time used so far, user and system apart, from /proc (ms). */
  cpuTimes(): { userMs: number; systemMs: number };
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServerNode extends Proc {
  id: string;
  url: string;
}

function track(child: ChildProcess): Proc {
  const cpuTimes = () => {
    // Fields 14 and 15 of /proc/PID/stat (after the parenthesised command name), in clock ticks of 10 ms.
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { userMs: Number(fields[11]) * 10, systemMs: Number(fields[12]) * 10 };
  };
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return {
    pid: child.pid!,
    process: child,
    exited,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    cpuMs: () => {
      const { userMs, systemMs } = cpuTimes();
      return userMs + systemMs;
    },
    cpuTimes,
    async stop(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT');
      child.kill(signal);
      await exited;
    },
  };
}

/** Polls `url` until it answers 200, or fails with what the process printed. */
async function waitReady(url: string, proc: Proc, output: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void proc.exited.then(() => (dead = true));
  while (Date.now() < deadline && !dead) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${url} did not become ready:\n${output.join('').slice(-4000)}`);
}

/** SIGTERM (our nodes hand off and exit), then SIGKILL if one is still there after 5 s. */
async function stopGracefully(proc: Proc): Promise<void> {
  if (proc.process.exitCode !== null || proc.process.signalCode !== null) return;
  proc.process.kill('SIGTERM');
  const timer = setTimeout(() => proc.process.kill('SIGKILL'), 5_000);
  await proc.exited;
  clearTimeout(timer);
}

export interface Cluster {
  prefix: string;
  secret: string;
  nodes: ServerNode[];
  /** Starts one more node with the cluster's settings. */
  addNode(env?: Record<string, string>): Promise<ServerNode>;
  close(): Promise<void>;
}

/**
 * `size` nodes of our server in cluster mode (REDIS_URL set) on the bench database and Redis,
 * with one Redis prefix and JWT secret of their own, each as `node dist/src/main.js` with its
 * default log level (request logs at info go to /dev/null, as a process manager might keep them).
 */
export async function startCluster(size: number, env: Record<string, string> = {}, nodeArgs?: string[]): Promise<Cluster> {
  const prefix = `bench-${randomBytes(3).toString('hex')}:`;
  const secret = randomBytes(32).toString('base64url');
  const nodes: ServerNode[] = [];
  let started = 0;
  const launch = (extra: Record<string, string> = {}) => {
    started += 1;
    return startServerNode({ NODE_ID: `n${started}`, JWT_SECRET: secret, REDIS_PREFIX: prefix, ...env, ...extra }, nodeArgs);
  };
  const addNode = async (extra: Record<string, string> = {}) => {
    const node = await launch(extra);
    nodes.push(node);
    return node;
  };
  // Side by side: much of a node's start is waiting (for PostgreSQL, Redis, its first heartbeat).
  const launched = await Promise.allSettled(Array.from({ length: size }, () => launch()));
  for (const result of launched) if (result.status === 'fulfilled') nodes.push(result.value);
  const failure = launched.find((result) => result.status === 'rejected');
  if (failure) {
    await Promise.all(nodes.map((node) => stopGracefully(node)));
    throw failure.reason;
  }
  return {
    prefix,
    secret,
    nodes,
    addNode,
    close: async () => {
      await Promise.all(nodes.map((node) => stopGracefully(node)));
    },
  };
}

/**
 * One node of ours. BENCH_NODE_ARGS adds Node options, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
 * to profile the nodes of a run (they stop with SIGTERM, so the profile is written).
 */
export async function startServerNode(
  env: Record<string, string>,
  nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
): Promise<ServerNode> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, 'dist/src/main.js'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL: benchDatabaseUrl,
      REDIS_URL: benchRedisUrl,
      MIGRATE_ON_START: 'false',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const output: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const proc = track(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}/readyz`, proc, output);
  } catch (error) {
    await proc.stop(); // not left running beside the next scenario's nodes
    throw error;
  }
  return { ...proc, id: env.NODE_ID ?? 'single', url };
}

/** Messages a forked helper answers: `{id, type, args}` → `{id, result}` or `{id, error}`. */
interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

export interface Forked extends Proc {
  /** What the helper sent when it was ready (a baseline server's URL, say). */
  hello: Record<string, unknown>;
  call<T = unknown>(type: string, args?: unknown): Promise<T>;
}

/** Forks a TypeScript helper under tsx (a built `.js` one under plain node) and waits for its `{hello}` message. */
export async function forkHelper(file: string, env: Record<string, string> = {}, execArgv: string[] = []): Promise<Forked> {
  const child = fork(resolve(repoRoot, file), [], {
    cwd: repoRoot,
    execArgv: file.endsWith('.js') ? execArgv : ['--import', 'tsx', ...execArgv],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const proc = track(child);
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let next = 0;
  const hello = await new Promise<Record<string, unknown>>((resolveHello, reject) => {
    child.once('message', (message) => resolveHello((message as { hello: Record<string, unknown> }).hello));
    void proc.exited.then(({ code }) => reject(new Error(`${file} exited with ${code} before it was ready`)));
  });
  child.on('message', (message) => {
    const reply = message as Reply;
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter.reject(new Error(`${file}: ${reply.error}`));
    else waiter.resolve(reply.result);
  });
  void proc.exited.then(({ code, signal }) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${file} exited (${code ?? signal})`));
    pending.clear();
  });
  return {
    ...proc,
    hello,
    call: <T>(type: string, args?: unknown) =>
      new Promise<T>((resolveCall, reject) => {
        const id = next++;
        pending.set(id, { resolve: resolveCall as (value: unknown) => void, reject });
        child.send({ id, type, args });
      }),
  };
}

export { serveParent } from './parent';

/**
 * For a script run on its own (`npx tsx bench/….ts`, not through the runner): prepares the bench
 * database, starts a private Redis and `size` nodes, runs `work`, then stops them all. A failure
 * is printed and the process exits with 1.
 */
export function runOnCluster(size: number, env: Record<string, string>, work: (cluster: Cluster) => Promise<void>): void {
  const run = async () => {
    await prepareDatabase();
    const stopRedis = await startRedis();
    const cluster = await startCluster(size, env);
    try {
      await work(cluster);
    } finally {
      await cluster.close();
      await deletePrefix(cluster.prefix);
      await stopRedis();
    }
  };
  run().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

/**
 * Two bare Socket.IO nodes on the bench's Redis (`bench/baselines/socketio.ts`, Redis adapter,
 * a key prefix of their own): the plain cross-node emit that row (h) compares against.
 * `work` gets their URLs; both stop, and their keys go, when it is done.
 */
export async function onBaselinePair<T>(work: (one: string, two: string) => Promise<T>): Promise<T> {
  const env = { BASELINE_REDIS_URL: benchRedisUrl, BASELINE_PREFIX: `baseline-${randomBytes(3).toString('hex')}:` };
  const baselines = await Promise.all([forkHelper('bench/baselines/socketio.ts', env), forkHelper('bench/baselines/socketio.ts', env)]);
  try {
    const [one, two] = baselines.map((node) => node.hello.url as string) as [string, string];
    return await work(one, two);
  } finally {
    await Promise.all(baselines.map((node) => node.stop()));
    await deletePrefix(env.BASELINE_PREFIX);
  }
}

/**
 * Two owner-path baseline nodes (`bench/baselines/owner-path.ts`) on the bench's Redis (a key
 * prefix of their own) and database: rows (b2) and (c) set their rooms up on `owner` and listen
 * on `other`. Both stop, and their keys go, when `work` is done.
 */
export async function onOwnerPathPair<T>(work: (owner: Forked, other: Forked) => Promise<T>): Promise<T> {
  const env = { BASELINE_REDIS_URL: benchRedisUrl, BASELINE_PREFIX: `baseline-${randomBytes(3).toString('hex')}:` };
  const [owner, other] = (await Promise.all([forkHelper('bench/baselines/owner-path.ts', env), forkHelper('bench/baselines/owner-path.ts', env)])) as [
    Forked,
    Forked,
  ];
  try {
    return await work(owner, other);
  } finally {
    await Promise.all([owner.stop(), other.stop()]);
    await deletePrefix(env.BASELINE_PREFIX);
  }
}
