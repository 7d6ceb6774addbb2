import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP proxy for fault tests: a node talks to Redis or PostgreSQL through it, and the test breaks
 * the link on command, as a network would.
 *
 * - `blackhole()`: bytes stop flowing both ways, on open connections and on new ones (which the
 *   proxy accepts and holds); nothing is lost: TCP would retransmit, so on `heal()` what was held
 *   is delivered, unless a side gave up on the connection meanwhile.
 * - `refuse()`: the service is gone: open connections are reset and new ones are reset at once.
 * - `cut()`: open connections are reset once; new ones pass.
 * - `delay(ms, direction)`: every chunk is delivered `ms` later, in order, both ways or only
 *   towards the service (requests slow, answers not).
 * - `heal()`: back to passing bytes (and releasing what a blackhole held), no delay.
 */
export interface FaultProxy {
  /** Where to connect instead of the upstream service. */
  port: number;
  blackhole(): void;
  refuse(): void;
  cut(): void;
  delay(ms: number, direction?: 'both' | 'upstream'): void;
  heal(): void;
  close(): Promise<void>;
}

type Mode = 'pass' | 'blackhole' | 'refuse';

/** A link through the proxy: the client's connection and the proxy's to the service. */
interface Link {
  client: Socket;
  upstream: Socket;
}

export async function startFaultProxy(upstreamPort: number, upstreamHost = '127.0.0.1'): Promise<FaultProxy> {
  let mode: Mode = 'pass';
  const delayMs = { upstream: 0, downstream: 0 };
  const links = new Set<Link>();

  /**
   * Copies `from` to `to`, holding bytes back while blackholed and delaying them when asked. The
   * delayed chunks wait in one queue, in order: a chunk never overtakes one that came before it,
   * not even once the delay is lifted (a timer due first may run late), since bytes out of order
   * would corrupt the protocol on the link (Redis replies matched to the wrong commands).
   */
  const pipe = (from: Socket, to: Socket, direction: keyof typeof delayMs) => {
    const queue: { chunk: Buffer; due: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      while (queue.length > 0 && queue[0]!.due <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(flush, queue[0]!.due - Date.now());
    };
    from.on('data', (chunk: Buffer) => {
      if (delayMs[direction] === 0 && queue.length === 0) {
        to.write(chunk);
        return;
      }
      queue.push({ chunk, due: Date.now() + delayMs[direction] });
      timer ??= setTimeout(flush, queue[0]!.due - Date.now());
    });
  };

  const open = (client: Socket) => {
    const upstream = connect(upstreamPort, upstreamHost);
    const link = { client, upstream };
    links.add(link);
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        links.delete(link);
        client.destroy();
        upstream.destroy();
      });
    }
    pipe(client, upstream, 'upstream');
    pipe(upstream, client, 'downstream');
    if (mode === 'blackhole') hold(link);
  };

  const hold = (link: Link) => {
    link.client.pause();
    link.upstream.pause();
  };
  const release = (link: Link) => {
    link.client.resume();
    link.upstream.resume();
  };
  const reset = (link: Link) => {
    link.client.resetAndDestroy();
    link.upstream.resetAndDestroy();
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    client.on('error', () => undefined);
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    open(client);
    if (mode === 'pass') client.resume();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  return {
    port,
    blackhole() {
      mode = 'blackhole';
      links.forEach(hold);
    },
    refuse() {
      mode = 'refuse';
      links.forEach(reset);
    },
    cut() {
      links.forEach(reset);
    },
    delay(ms, direction = 'both') {
      delayMs.upstream = ms;
      delayMs.downstream = direction === 'both' ? ms : 0;
    },
    heal() {
      mode = 'pass';
      delayMs.upstream = delayMs.downstream = 0;
      links.forEach(release);
    },
    async close() {
      // destroy(), not resetAndDestroy(): with resets here, the test process (Node 20) sometimes
      // spun forever at exit, in its handle clean-up.
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
