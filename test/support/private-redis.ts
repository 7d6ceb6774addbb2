import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './ports';
import { redisAnswers, serveRedis } from './redis-servers';

/**
 * A redis-server of the test's own on a free loopback port (no persistence), which the test may
 * kill, restart (empty, on the same port) and pause, as an outage would.
 */
export interface PrivateRedis {
  url: string;
  /** SIGKILL: everything it held is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (if it is not running); resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: it keeps its data but answers nothing meanwhile. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  async function start() {
    if (child && child.exitCode === null && child.signalCode === null) return;
    child = serveRedis(['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    await redisAnswers(port);
  }

  async function kill() {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGCONT');
    running.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    url,
    kill,
    start,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    close: kill,
  };
}
