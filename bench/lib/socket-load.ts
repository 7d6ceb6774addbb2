import { forkHelper, type Forked } from './processes';

/**
 * Socket load spread over several load processes (bench/load/socket-worker.ts): each holds a
 * share of the connections, so no client process nears the open-files limit or one core.
 */
export interface SocketLoad {
  /** Opens one attached socket per entry (round-robin over the workers); resolves with the count. */
  open(url: string, clients: { token?: string; roomCode: string }[]): Promise<number>;
  /** Every socket sends `audio:level` at `rate` events/s in all for `ms`. */
  levels(rate: number, ms: number, level: number): Promise<{ sent: number; seconds: number; connected: number }>;
  /** How many of the sockets are still connected. */
  connected(): Promise<number>;
  closeSockets(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSocketLoad(workers: number): Promise<SocketLoad> {
  const procs: Forked[] = await Promise.all(Array.from({ length: workers }, () => forkHelper('bench/load/socket-worker.ts')));
  return {
    async open(url, clients) {
      const shares = procs.map((_, w) => clients.filter((_, i) => i % procs.length === w));
      const counts = await Promise.all(procs.map((proc, w) => proc.call<number>('open', { url, clients: shares[w], concurrency: 25 })));
      return counts.reduce((a, b) => a + b, 0);
    },
    async levels(rate, ms, level) {
      const parts = await Promise.all(
        procs.map((proc) => proc.call<{ sent: number; seconds: number; connected: number }>('levels', { rate: rate / procs.length, ms, level })),
      );
      return {
        sent: parts.reduce((sum, p) => sum + p.sent, 0),
        seconds: Math.max(...parts.map((p) => p.seconds)),
        connected: parts.reduce((sum, p) => sum + p.connected, 0),
      };
    },
    async connected() {
      return (await Promise.all(procs.map((proc) => proc.call<number>('connected')))).reduce((a, b) => a + b, 0);
    },
    async closeSockets() {
      await Promise.all(procs.map((proc) => proc.call('close')));
    },
    async stop() {
      await Promise.all(procs.map((proc) => proc.stop()));
    },
  };
}
