import { setTimeout as sleep } from 'node:timers/promises';
import { createAdapter as createPubSubAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { RedisClient } from '../config/redis-target';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Server, ServerOptions } from 'socket.io';
import { everyChannel, type ChannelInterest } from '../realtime/channels';
import type { RedisTarget } from '../config/config';
import { closeRedisConnection, createRedisConnection } from './redis-connection';

/**
 * How Socket.IO nodes reach each other's sockets (docs/architecture.md): `@socket.io/redis-adapter`
 * (pub/sub) by default, `@socket.io/redis-streams-adapter` with SOCKET_ADAPTER=redis-streams, or
 * the sharded adapter of `@socket.io/redis-adapter` with SOCKET_ADAPTER=redis-sharded (Redis ≥ 7
 * sharded pub/sub; a room's events go to a channel of their own, which only the nodes holding
 * one of its sockets subscribe to, so a node hears only the rooms it serves).
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
  /** How this node comes to hear a room's channel before its sockets enter it (realtime/channels.ts). */
  interest(io: Server): ChannelInterest;
  /**
   * Messages this node received from the other nodes through Redis pub/sub so far (every one it
   * must decode, whether or not it holds a socket they are for); null for the streams adapter,
   * where every node reads the whole stream.
   */
  messagesReceived(): number | null;
  close(): Promise<void>;
}

export function createSocketAdapter(
  kind: 'redis' | 'redis-streams' | 'redis-sharded',
  options: { target: RedisTarget; prefix: string; nodeId: string; logger: Logger },
): SocketAdapter {
  const { prefix } = options;
  const connect = (role: string) =>
    createRedisConnection(options.target, options.logger, `meeting-rooms:${options.nodeId}:${role}`, {
      maxRetriesPerRequest: null,
      sharded: kind === 'redis-sharded',
    });
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
      interest: () => everyChannel,
      messagesReceived: () => null,
      // The adapter closes the connections it made when the server closes.
      close: () => closeRedisConnection(publisher),
    };
  }
  const subscriber = connect('adapter-sub');
  let received = 0;
  const count = () => void (received += 1);
  // The pub/sub adapter's broadcasts come by pattern, its requests by channel; the sharded one's by shard channel.
  for (const event of kind === 'redis-sharded' ? ['smessageBuffer'] : ['pmessageBuffer', 'messageBuffer']) subscriber.on(event, count);
  const close = async () => {
    await Promise.all([closeRedisConnection(publisher), closeRedisConnection(subscriber)]);
  };
  if (kind === 'redis-sharded') {
    const channelPrefix = `${prefix}socket.io`;
    return {
      adapter: createShardedAdapter(publisher, subscriber, { channelPrefix, subscriptionMode: 'dynamic' }),
      recovers: false,
      // The adapter's name for a room's channel in the default namespace.
      interest: (io) => shardedInterest(io.of('/').adapter, subscriber, (room) => `${channelPrefix}#/#${room}#`),
      messagesReceived: () => received,
      close,
    };
  }
  return {
    adapter: createPubSubAdapter(publisher, subscriber, {
      key: `${prefix}socket.io`,
      publishOnSpecificResponseChannel: true,
      requestsTimeout: 2000,
    }),
    recovers: false,
    interest: () => everyChannel,
    messagesReceived: () => received,
    close,
  };
}

/** How long an attach waits for its room's subscription; past it (Redis unreachable) it goes on, and the room answers as it can. */
const holdWaitMs = 2_000;

/**
 * The sharded adapter subscribes this node to a channel when the channel gets its first local
 * member and unsubscribes when it loses its last one. A hold is such a member: a placeholder id
 * with no socket behind it (a broadcast skips ids it has no socket for), counted per channel.
 * The adapter does not say when Redis has taken the subscription, so the hold subscribes to the
 * same shard channel itself and waits for that answer (a second SSUBSCRIBE of a channel is
 * harmless; the adapter's own unsubscribe, when the last member goes, ends both).
 */
function shardedInterest(adapter: ReturnType<Server['of']>['adapter'], subscriber: RedisClient, shardChannel: (room: string) => string): ChannelInterest {
  const holds = new Map<string, number>();
  const holderOf = (channel: string) => `hold:${channel}`;
  return {
    async hold(channel) {
      const count = holds.get(channel) ?? 0;
      holds.set(channel, count + 1);
      if (count === 0) void adapter.addAll(holderOf(channel), new Set([channel]));
      await Promise.race([subscriber.ssubscribe(shardChannel(channel)), sleep(holdWaitMs)]).catch(() => undefined);
    },
    release(channel) {
      const count = holds.get(channel) ?? 0;
      if (count > 1) return void holds.set(channel, count - 1);
      if (count === 0) return;
      holds.delete(channel);
      adapter.delAll(holderOf(channel));
    },
  };
}

/** `socketio_adapter_messages_received_total`: what the other nodes' broadcasts cost this one (docs/scaling.md "Choosing the adapter"). */
export function countAdapterMessages(adapter: SocketAdapter, registry: Registry): void {
  let counted = 0;
  new Counter({
    name: 'socketio_adapter_messages_received_total',
    help: 'Socket.IO adapter messages this node received from Redis pub/sub (not counted for the streams adapter)',
    registers: [registry],
    collect() {
      const now = adapter.messagesReceived() ?? 0;
      this.inc(now - counted);
      counted = now;
    },
  });
}
