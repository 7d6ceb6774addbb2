import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

/** Per command name (`evalsha`, `spublish`, …), how many calls. */
export type Calls = Map<string, number>;

/**
 * The commands each of some Redis servers (one Redis, or each primary of a Redis Cluster) runs
 * while a piece of work runs, from INFO commandstats: per command, its calls (commands run from
 * scripts included) and its rejected calls (refused before running: a wrong slot's MOVED, an
 * EVALSHA's NOSCRIPT). Each server's idle rate, measured by `idle()`, is taken off, and so is the
 * meter's own INFO on each read.
 */
export class RedisMeter {
  private idlePerMs: Calls[];

  constructor(readonly servers: Redis[]) {
    this.idlePerMs = servers.map(() => new Map());
  }

  /** Measures each server's idle rate over `ms` (the cluster doing nothing: heartbeats, deadline polls, adapter upkeep). */
  async idle(ms: number): Promise<Calls[]> {
    const before = await this.read();
    await sleep(ms);
    const after = await this.read();
    this.idlePerMs = after.map((calls, i) => scale(delta(calls, before[i]!), 1 / ms));
    return this.idlePerMs;
  }

  /** Runs `work`; per server, the commands it ran meanwhile less the idle rate. */
  async during<T>(work: () => Promise<T>): Promise<{ result: T; calls: Calls[] }> {
    const before = await this.read();
    const startedAt = performance.now();
    const result = await work();
    const after = await this.read();
    const ms = performance.now() - startedAt;
    return { result, calls: after.map((calls, i) => less(delta(calls, before[i]!), scale(this.idlePerMs[i]!, ms))) };
  }

  private read(): Promise<Calls[]> {
    return Promise.all(this.servers.map(commandCalls));
  }
}

/** Calls plus rejected calls per command so far. */
async function commandCalls(redis: Redis): Promise<Calls> {
  const info = await redis.info('commandstats');
  const calls: Calls = new Map();
  for (const [, name, run, rejected] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+).*?rejected_calls=(\d+)/gm))
    calls.set(name!, Number(run) + Number(rejected));
  return calls;
}

/** From one read to the next, less the first read's own INFO (a read counts in the next one, not in itself). */
function delta(after: Calls, before: Calls): Calls {
  const out = less(after, before);
  out.set('info', (out.get('info') ?? 0) - 1);
  return out;
}

function less(a: Calls, b: Calls): Calls {
  const out = new Map(a);
  for (const [name, n] of b) out.set(name, (out.get(name) ?? 0) - n);
  return out;
}

export function scale(calls: Calls, factor: number): Calls {
  return new Map([...calls].map(([name, n]) => [name, n * factor]));
}

/** All the calls of one server, or of one command on it. */
export function total(calls: Calls, command?: string): number {
  if (command !== undefined) return calls.get(command) ?? 0;
  let sum = 0;
  for (const n of calls.values()) sum += n;
  return sum;
}
