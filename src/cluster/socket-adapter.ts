import { createAdapter as createPubSubAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import type { Logger } from 'pino';
import type { ServerOptions } from 'socket.io';
import type { RedisTarget } from '../config/config';
import { closeRedisConnection, createRedisConnection } from './redis-connection';

/**
 * How Socket.IO nodes reach each other's sockets (docs/architecture.md): `@socket.io/redis-adapter`
 * (pub/sub) by default, or `@socket.io/redis-streams-adapter` with SOCKET_ADAPTER=redis-streams.
 * Only the streams adapter keeps what was broadcast while a client was away, so only it turns on
 * connection-state recovery across nodes. Channels and streams carry REDIS_PREFIX.
 *
 * The adapter has connections of its own that wait out a Redis outage instead of failing: the
 * adapters publish without handling errors, and a failed publish must not crash the node.
 * Broadcasts made during an outage are sent when Redis is back. A room's channel joins and its
 * events go through the same connection, so they arrive in the order the room made them.
 */
export interface SocketAdapter {
  adapter: ServerOptions['adapter'];
  /** Whether a client that reconnects within the window gets what it missed. */
  recovers: boolean;
  close(): Promise<void>;
}

export function createSocketAdapter(
  kind: 'redis' | 'redis-streams',
  options: { target: RedisTarget; prefix: string; nodeId: string; logger: Logger },
): SocketAdapter {
  const { prefix } = options;
  const connect = (role: string) =>
    createRedisConnection(options.target, options.logger, `meeting-rooms:${options.nodeId}:${role}`, { maxRetriesPerRequest: null });
  const publisher = connect('adapter');
  if (kind === 'redis-streams') {
    return {
      // The adapter duplicates this connection for its blocking reads and its subscriptions.
      adapter: createStreamsAdapter(publisher, {
        streamName: `${prefix}socket.io`,
        channelPrefix: `${prefix}socket.io`,
        sessionKeyPrefix: `${prefix}sio:session:`,
        // The blocking read ends this often when idle, which bounds how long closing it takes.
        blockTimeInMs: 1000,
        onlyPlaintext: true,
      }),
      recovers: true,
      // The adapter closes the connections it made when the server closes.
      close: () => closeRedisConnection(publisher),
    };
  }
  const subscriber = connect('adapter-sub');
  return {
    adapter: createPubSubAdapter(publisher, subscriber, {
      key: `${prefix}socket.io`,
      publishOnSpecificResponseChannel: true,
      requestsTimeout: 2000,
    }),
    recovers: false,
    close: async () => {
      await Promise.all([closeRedisConnection(publisher), closeRedisConnection(subscriber)]);
    },
  };
}
