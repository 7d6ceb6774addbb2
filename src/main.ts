import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { setupWorker } from '@socket.io/sticky';
import { createApp, type App } from './app';
import { runPrimary, workerReady } from './workers/primary';
import { describeRedis } from './cluster/redis-connection';
import { ConfigError, loadConfig } from './config/config';
import { createLogger } from './logging/logger';
import { openDatabase, type Database } from './persistence/database';

/** How long shutdown may take before the process exits anyway. */
const shutdownTimeoutMs = 15_000;

/**
 * `npm start`: one node, configured from the environment; stops cleanly on SIGTERM/SIGINT.
 * With WEB_CONCURRENCY > 1 this process becomes the primary of that many worker nodes sharing
 * its port (workers/primary.ts), and each worker runs the rest of this function.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const logger = createLogger(config);
  process.on('unhandledRejection', (reason) => {
    // A promise nobody awaited failed: a programmer error. Crash so the supervisor restarts us clean.
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });
  if (config.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random secret for this process; tokens stop working when it restarts');
  }

  if (config.webConcurrency > 1 && cluster.isPrimary) {
    await runPrimary(config, logger);
    return;
  }

  let database: Database | undefined;
  let app: App | undefined;
  let stopping = false;
  const stop = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, shutdownTimeoutMs).unref();
    try {
      await app?.close();
      await database?.stop();
    } catch (error) {
      logger.error({ err: error }, 'error during shutdown');
      exitCode = 1;
    }
    logger.info({ exit_code: exitCode }, 'stopped');
    process.exit(exitCode);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // Repeats are ignored: on Ctrl-C under `npm start` the signal arrives twice (from the terminal
    // and forwarded by npm), and the shutdown timeout already bounds how long stopping may take.
    process.on(signal, () => void stop(signal, 0));
  }

  try {
    database = await openDatabase(config, logger);
    app = await createApp({ ...config, databaseUrl: database.url }, { logger });
    if (cluster.isWorker) {
      // The primary owns the port and passes this worker its connections.
      setupWorker(app.io);
      process.send!(workerReady);
      logger.info({ node_id: config.nodeId, pid: process.pid }, 'worker ready');
      return;
    }
    const server = app.httpServer;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://localhost:${port}`;
    logger.info(
      {
        url,
        mode: config.redis ? 'cluster' : 'single-node',
        node_id: config.nodeId,
        database: database.description,
        live_state: config.redis ? describeRedis(config.redis) : 'in-process',
      },
      `meeting-rooms listening on ${url} (${config.redis ? 'cluster node' : 'single node'}; ${database.description})`,
    );
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    await stop('startup failure', 1);
  }
}

void main();
