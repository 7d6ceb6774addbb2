import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setupMaster } from '@socket.io/sticky';
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import { openOrm } from '../persistence/orm';

/**
 * WEB_CONCURRENCY > 1 on one machine (docs/scaling.md "Several workers on one machine"): this process owns the port and hands each
 * connection to a worker with @socket.io/sticky, which sends every request of an Engine.IO
 * session (its `sid`) to the worker that opened it, so long-polling works. Each worker is a full
 * cluster node (its own NODE_ID, heartbeat and rooms) sharing rooms with the others, and with
 * other machines, through Redis.
 */

/** Messages a worker sends the primary. */
export const workerReady = 'meeting-rooms:worker-ready';

/** How long stopping waits for the workers' hand-off before killing them. */
const stopTimeoutMs = 14_000;
/** A worker that dies is replaced after this pause (a crash loop must not spin). */
const restartDelayMs = 1000;

export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const databaseUrl = config.databaseUrl!;
  // Once, before any worker starts (the workers never migrate).
  if (config.migrateOnStart) await (await openOrm(databaseUrl, { migrate: true, logger })).close(true);

  // Connections' first bytes travel to the workers as Buffers.
  cluster.setupPrimary({ serialization: 'advanced' });
  const httpServer = createServer();
  setupMaster(httpServer, { loadBalancingMethod: 'least-connection' });

  let stopping = false;
  let generation = 0;
  const fork = (slot: number): Promise<Worker> => {
    generation += 1;
    // A replacement is a new node: its id differs from the one that died.
    // Workers share the secret (a generated one too): a token from one must work on the others.
    const worker = cluster.fork({ NODE_ID: `${config.nodeId}-w${slot}.${generation}`, MIGRATE_ON_START: 'false', JWT_SECRET: config.jwtSecret });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ worker: slot, code, signal }, 'worker died; starting another');
      setTimeout(() => void fork(slot), restartDelayMs).unref();
    });
    return new Promise((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (message === workerReady) resolve(worker);
      });
      worker.once('exit', (code) => reject(new Error(`worker ${slot} exited with ${code} before it was ready`)));
    });
  };

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason: signal }, 'stopping workers');
    httpServer.close();
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exits = workers.map((w) => new Promise((resolve) => (w.isDead() ? resolve(undefined) : w.once('exit', resolve))));
    for (const worker of workers) worker.process.kill('SIGTERM');
    const timer = setTimeout(() => workers.forEach((w) => w.process.kill('SIGKILL')), stopTimeoutMs);
    await Promise.all(exits);
    clearTimeout(timer);
    logger.info('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal));

  try {
    // Listen only once every worker can take connections: sticky forwards to any forked worker.
    await Promise.all(Array.from({ length: config.webConcurrency }, (_, slot) => fork(slot)));
  } catch (error) {
    logger.fatal({ err: error }, 'workers failed to start');
    await stop('startup failure');
    return;
  }
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, () => resolve());
  });
  const url = `http://localhost:${(httpServer.address() as AddressInfo).port}`;
  logger.info({ url, workers: config.webConcurrency, node_id: config.nodeId }, `meeting-rooms listening on ${url} (${config.webConcurrency} workers)`);
}
