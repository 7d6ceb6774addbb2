import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports';
import { killAll, redisAnswers as answers, serveRedis as serve, until } from './redis-servers';

/**
 * A Redis primary, a replica and three sentinels of the test's own on free loopback ports, as a
 * production Sentinel set-up has them (quorum 2), with timings short enough for a test: a primary
 * that stops answering for a second is declared down and the replica promoted.
 */
export interface SentinelSet {
  /** The name the sentinels monitor the primary under. */
  name: string;
  /** For REDIS_SENTINELS. */
  sentinels: string;
  /** The primary's port now, as the sentinels say. */
  primaryPort(): Promise<number>;
  /** SIGKILL of the current primary. */
  killPrimary(): Promise<number>;
  /** SIGSTOP / SIGCONT of the replica, its replication link cut: paused, it takes none of the primary's writes meanwhile. */
  pauseReplica(): Promise<void>;
  resumeReplica(): void;
  close(): Promise<void>;
}

const name = 'meetings';

export async function startSentinelSet(): Promise<SentinelSet> {
  const dir = await mkdtemp(join(tmpdir(), 'sentinel-'));
  const processes: ChildProcess[] = [];
  const noDisk = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const [primary, replica] = [await freePort(), await freePort()];
  processes.push(serve(['--port', String(primary), ...noDisk]));
  processes.push(serve(['--port', String(replica), ...noDisk, '--replicaof', '127.0.0.1', String(primary)]));
  await Promise.all([answers(primary), answers(replica)]);

  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  for (const port of sentinelPorts) {
    // A sentinel rewrites its configuration file: each gets its own.
    const file = join(dir, `sentinel-${port}.conf`);
    await writeFile(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `sentinel monitor ${name} 127.0.0.1 ${primary} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    processes.push(serve([file, '--sentinel']));
  }
  await Promise.all(sentinelPorts.map(answers));
  const sentinel = new Redis({ port: sentinelPorts[0], host: '127.0.0.1', maxRetriesPerRequest: 1 });
  sentinel.on('error', () => undefined);
  // Ready once the sentinels know the replica and each other (a failover needs both).
  await until('the sentinels to see the replica and each other', async () => {
    const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', name)) as unknown[];
    const others = (await sentinel.call('SENTINEL', 'SENTINELS', name)) as unknown[];
    return replicas.length >= 1 && others.length >= 2 ? true : undefined;
  });
  const replicaInSync = new Redis({ port: replica, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  replicaInSync.on('error', () => undefined);
  await until('the replica to sync', async () => ((await replicaInSync.info('replication')).includes('master_link_status:up') ? true : undefined));
  replicaInSync.disconnect();

  const primaryPort = async () => Number(((await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[])[1]);
  const portsOf = [primary, replica];
  let paused: ChildProcess | undefined;
  return {
    name,
    sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
    primaryPort,
    async killPrimary() {
      const port = await primaryPort();
      const child = processes[portsOf.indexOf(port)]!;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      return port;
    },
    async pauseReplica() {
      const port = await primaryPort();
      paused = processes[portsOf.indexOf(port === primary ? replica : primary)];
      paused?.kill('SIGSTOP');
      // Its replication link too: else what the primary sends meanwhile waits in the socket's buffer for it.
      const onPrimary = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      try {
        await onPrimary.call('CLIENT', 'KILL', 'TYPE', 'replica');
      } finally {
        onPrimary.disconnect();
      }
    },
    resumeReplica() {
      paused?.kill('SIGCONT');
      paused = undefined;
    },
    async close() {
      paused?.kill('SIGCONT');
      sentinel.disconnect();
      await killAll(processes);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
