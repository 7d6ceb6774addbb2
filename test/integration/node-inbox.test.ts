import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createOwnership } from '../../src/cluster/ownership';
import { createNodeInbox, type SocketMove, Reroute, type NodeInbox } from '../../src/cluster/node-inbox';
import { AppError } from '../../src/errors/app-error';
import { nodeKey } from '../../src/live-state/redis-keys';
import { testRedisUrl } from '../support/env';
import { deleteRedisPrefix } from '../support/redis';

/**
 * Request/reply between nodes (docs/scaling.md "How rooms run in a cluster") on a real Redis: every request ends, with the
 * owner's answer, a typed error, "route again", or ROOM_TIMEOUT, never a hang.
 */
const prefix = `test-${randomBytes(6).toString('hex')}:`;
const connections: Redis[] = [];
const inboxes: NodeInbox[] = [];
/** Each node's connection for replies, by node id. */
const subscribers = new Map<string, Redis>();
const connect = () => {
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3, disconnectTimeout: 500 });
  connections.push(redis);
  return redis;
};
const logger = pino({ level: 'silent' });

async function node(nodeId: string, handle: (roomCode: string, command: { type: string }) => Promise<unknown>, moves: SocketMove[] = []) {
  const publisher = connect();
  await publisher.set(nodeKey(prefix, nodeId), '1', 'PX', 60_000);
  // Only its liveness check is used here: this node makes no claims.
  const ownership = createOwnership(publisher, { prefix, nodeId, lease: { valid: () => true, restoring: () => false } });
  const subscriber = connect();
  subscribers.set(nodeId, subscriber);
  const inbox = createNodeInbox({
    publisher,
    subscriber,
    prefix,
    nodeId,
    logger,
    handle,
    applyMove: (move) => void moves.push(move),
    alive: (ids) => ownership.alive(ids),
  });
  await inbox.start();
  inboxes.push(inbox);
  return inbox;
}

afterAll(async () => {
  await Promise.all(inboxes.map((inbox) => inbox.close()));
  await deleteRedisPrefix(prefix);
  await Promise.all(connections.map((redis) => redis.quit()));
});

const soon = (ms: number) => Date.now() + ms;
const never = () => new Promise<never>(() => undefined);

describe('request/reply between nodes', () => {
  it('returns the owner’s reply, and its AppError with code and status', async () => {
    await node('owner-1', async (roomCode, command) => {
      if (command.type === 'join') throw new AppError('ROOM_FULL');
      return { roomCode, seen: command.type };
    });
    const sender = await node('sender-1', never);
    expect(await sender.request('owner-1', 'room-a', { type: 'inspect' }, soon(2000))).toEqual({ roomCode: 'room-a', seen: 'inspect' });
    const refused = await sender
      .request('owner-1', 'room-a', { type: 'join', userId: 'u', language: null, hardwareReady: false, displayName: 'U', role: 'guest' } as never, soon(2000))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'ROOM_FULL', status: 409 });
  });

  it('an owner that says the room moved makes the sender route again', async () => {
    await node('owner-2', async () => {
      throw new Reroute('handed off');
    });
    const sender = await node('sender-2', never);
    await expect(sender.request('owner-2', 'room-b', { type: 'inspect' }, soon(2000))).rejects.toBeInstanceOf(Reroute);
  });

  it('a node nobody listens for is a Reroute at once', async () => {
    const sender = await node('sender-3', never);
    const started = Date.now();
    await expect(sender.request('nobody', 'room-c', { type: 'inspect' }, soon(5000))).rejects.toBeInstanceOf(Reroute);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('an owner whose heartbeat vanishes while the request waits is a Reroute, well before the deadline', async () => {
    await node('owner-4', never);
    const sender = await node('sender-4', never);
    const pending = sender.request('owner-4', 'room-d', { type: 'inspect' }, soon(10_000));
    const started = Date.now();
    await connections[0]!.del(nodeKey(prefix, 'owner-4'));
    await expect(pending).rejects.toBeInstanceOf(Reroute);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a live owner that never answers ends in ROOM_TIMEOUT at the deadline', async () => {
    await node('owner-5', never);
    const sender = await node('sender-5', never);
    const started = Date.now();
    const error = await sender.request('owner-5', 'room-e', { type: 'inspect' }, soon(400)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'ROOM_TIMEOUT', status: 504 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });

  it('a reply lost with the sender’s connection for replies: UNAVAILABLE at once, not at the deadline; the next request, once it is back, is answered', async () => {
    let answering = false;
    await node('owner-8', async () => (answering ? 'answered' : never()));
    const sender = await node('sender-8', never);
    const subscriber = subscribers.get('sender-8')!;
    const started = Date.now();
    const pending = sender.request('owner-8', 'room-h', { type: 'inspect' }, soon(10_000)).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    subscriber.disconnect(true); // dropped, then reconnecting
    expect(await pending).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect(Date.now() - started).toBeLessThan(2000);

    // While it reconnects, a request is refused at once: its reply could arrive before the subscription is back.
    expect(subscriber.status).not.toBe('ready');
    await expect(sender.request('owner-8', 'room-h', { type: 'inspect' }, soon(10_000))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await new Promise<void>((resolve) => (subscriber.status === 'ready' ? resolve() : subscriber.once('ready', () => resolve())));
    answering = true;
    // The subscription is restored with the connection (ioredis resubscribes before it is ready again).
    await expect(sender.request('owner-8', 'room-h', { type: 'inspect' }, soon(5_000))).resolves.toBe('answered');
  });

  it('drops malformed messages on its inbox and keeps serving', async () => {
    await node('owner-6', async () => ({ ok: true }));
    const sender = await node('sender-6', never);
    const raw = connect();
    // Both reach the inbox (one subscriber each) and are dropped.
    expect(await raw.publish(`${prefix}node:{owner-6}:inbox`, 'not json')).toBe(1);
    expect(await raw.publish(`${prefix}node:{owner-6}:inbox`, JSON.stringify({ kind: 'request', id: 1 }))).toBe(1);
    expect(await sender.request('owner-6', 'room-f', { type: 'inspect' }, soon(2000))).toEqual({ ok: true });
  });

  it('a socket move is applied by the node holding the sockets before it confirms; one to a node nobody listens for fails at once', async () => {
    const moves: SocketMove[] = [];
    await node('holder-7', never, moves);
    const sender = await node('sender-7', never);
    const move: SocketMove = { op: 'join', channel: 'room:abc', socketIds: ['s1', 's2'] };
    await sender.moveSockets('holder-7', move, soon(2000));
    expect(moves).toEqual([move]);
    await expect(sender.moveSockets('nobody', move, soon(2000))).rejects.toBeInstanceOf(Reroute);
  });
});
