import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** What the test's own Redis set-ups (Sentinel, Cluster) share: starting redis-server processes and waiting for them. */

/** A redis-server (or sentinel) with these arguments, its output discarded. */
export function serveRedis(args: string[]): ChildProcess {
  return spawn('redis-server', args, { stdio: 'ignore' });
}

/** Resolves once the server on this loopback port answers PING. */
export async function redisAnswers(port: number): Promise<void> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch (error) {
        if (attempt > 100) throw new Error(`redis on port ${port} did not start: ${String(error)}`, { cause: error });
        await sleep(50);
      }
    }
  } finally {
    probe.disconnect();
  }
}

/** The first value `probe` gives other than undefined (a probe that throws counts as undefined), within the timeout. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** SIGKILL of every process still running (a paused one is continued first, so it can die). */
export async function killAll(processes: ChildProcess[]): Promise<void> {
  await Promise.all(
    processes.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    }),
  );
}
