import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

/**
 * A minimal TCP load balancer for the baseline: each new connection goes to the first backend
 * port that accepts it, and dies with its backend, as behind HAProxy with a health check.
 */
export async function startForwarder(backends: () => number[]): Promise<{ port: number; close(): Promise<void> }> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    const tryBackend = (index: number) => {
      const port = backends()[index];
      if (port === undefined) return client.destroy();
      const upstream = connect(port, '127.0.0.1');
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        open.add(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      upstream.on('error', () => (connected ? upstream.destroy() : tryBackend(index + 1)));
      upstream.on('close', () => {
        open.delete(upstream);
        if (connected) client.destroy();
      });
      client.on('close', () => upstream.destroy());
    };
    tryBackend(0);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of open) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
