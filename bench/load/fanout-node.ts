import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { serveParent } from '../lib/parent';

/**
 * One lightweight "node" of the fan-out simulation, row (k): a bare Socket.IO server (no HTTP
 * listener, no database) with `@socket.io/redis-adapter`'s pub/sub adapter or its sharded one,
 * on the bench's Redis. Its sockets are placeholders: ids entered in the adapter's rooms with no
 * connection behind them, so the adapter subscribes and filters exactly as for real sockets,
 * and a broadcast is decoded and matched against them, but written to no client. It counts the
 * messages its subscriber connection receives (as src/cluster/socket-adapter.ts does) and its
 * own CPU time (process.cpuUsage) while the parent's calls make it broadcast.
 */
type Kind = 'redis' | 'redis-sharded' | 'redis-sharded-private';

interface Setup {
  adapter: Kind;
  redisUrl: string;
  prefix: string;
  /** Rooms with a member on this node. */
  rooms: string[];
  /** Ids of the placeholder sockets on this node (20 characters, as Socket.IO's). */
  sockets: string[];
}

let io: Server | undefined;
let connections: Redis[] = [];
let received = 0;

async function setup(args: Setup): Promise<void> {
  const pub = new Redis(args.redisUrl, { maxRetriesPerRequest: null });
  const sub = pub.duplicate();
  connections = [pub, sub];
  received = 0;
  const count = () => void (received += 1);
  for (const event of args.adapter === 'redis' ? ['pmessageBuffer', 'messageBuffer'] : ['smessageBuffer']) sub.on(event, count);
  io = new Server();
  io.adapter(
    args.adapter === 'redis'
      ? createAdapter(pub, sub, { key: `${args.prefix}socket.io`, publishOnSpecificResponseChannel: true })
      : createShardedAdapter(pub, sub, {
          channelPrefix: `${args.prefix}socket.io`,
          subscriptionMode: args.adapter === 'redis-sharded' ? 'dynamic' : 'dynamic-private',
        }),
  );
  const adapter = io.of('/').adapter;
  // A socket is in its own room and in its user's channel, as Socket.IO and our server put it.
  for (const id of args.sockets) void adapter.addAll(id, new Set([id]));
  for (const room of args.rooms) void adapter.addAll(`member:${room}`, new Set([room]));
  // The subscriptions went out on `sub` before this PING: once it answers, Redis has them all.
  await sub.ping();
}

let sending: Promise<number> | undefined;
let stopSending = false;
let from = { received: 0, cpu: process.cpuUsage(), at: 0 };

/**
 * From `startAt` (this machine's clock, the same for every node), broadcasts `rate` events a
 * second in all, round-robin over `targets` (rooms or socket ids), until `stop`; counting and
 * CPU time start then too.
 */
async function start(args: { targets: string[]; rate: number; startAt: number }): Promise<void> {
  const payload = { room_code: '', settings: { lock_room: false, enable_transcription: false, max_participants: 100 }, status: 'active' };
  await sleep(Math.max(0, args.startAt - Date.now()));
  from = { received, cpu: process.cpuUsage(), at: performance.now() };
  stopSending = false;
  sending = (async () => {
    let sent = 0;
    while (!stopSending) {
      const due = Math.floor(((performance.now() - from.at) / 1000) * args.rate);
      for (; sent < due; sent++) {
        const target = args.targets[sent % args.targets.length]!;
        io!.to(target).emit('room:updated', { ...payload, room_code: target });
      }
      // Few wake-ups: on this machine a timer's wake-up costs more than an event.
      await sleep(50);
    }
    return sent;
  })();
}

async function stop(): Promise<{ sent: number }> {
  stopSending = true;
  return { sent: (await sending) ?? 0 };
}

/** Messages received and CPU time used since `start` (the broadcasts of every node still arriving). */
function read() {
  const cpu = process.cpuUsage(from.cpu);
  return { received: received - from.received, cpuMs: (cpu.user + cpu.system) / 1000, seconds: (performance.now() - from.at) / 1000 };
}

async function teardown(): Promise<void> {
  // Not io.close(): with no HTTP server attached it has no engine to close.
  await io?.of('/').adapter.close();
  io = undefined;
  await Promise.all(connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
  connections = [];
}

serveParent({}, { setup, start, stop, read, teardown });
