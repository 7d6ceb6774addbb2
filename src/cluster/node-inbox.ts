import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../config/redis-target';
import type { Logger } from 'pino';
import { z } from 'zod';
import { errorCatalog, type ErrorCode } from '../contract/errors';
import { AppError } from '../errors/app-error';
import type { RoomCommand } from '../rooms/room-router';

/**
 * Request/reply between nodes over Redis pub/sub (docs/scaling.md "How rooms run in a cluster"): a command for a room owned by
 * another node is published to that node's inbox with an id, and its reply comes back to ours.
 * A request never hangs: it ends with the owner's reply, with `Reroute` when the owner is gone
 * or no longer owns the room (the caller routes again), with UNAVAILABLE when this node's
 * connection for replies drops while it waits (a reply on the way is lost with it, and the
 * command may or may not have run), or with ROOM_TIMEOUT at its deadline.
 */
export interface NodeInbox {
  request(node: string, roomCode: string, command: RoomCommand, deadline: number): Promise<unknown>;
  /** Has `node` move some of its sockets into or out of a channel; resolves once it has. */
  moveSockets(node: string, move: SocketMove, deadline: number): Promise<void>;
  /** Subscribes to this node's inbox; requests are served from then on. */
  start(): Promise<void>;
  /** Stops serving: later requests get no answer (their senders see this node die or re-route). */
  close(): Promise<void>;
}

/** The room is not where the request went: route it again (to a new owner, or take it over). */
export class Reroute extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Reroute';
  }
}

export interface NodeInboxDeps {
  /** Publishes requests and replies (a connection in normal mode). */
  publisher: RedisClient;
  /** Receives them (put into subscriber mode; used for nothing else; on a Redis Cluster, with sharded subscribers). */
  subscriber: RedisClient;
  prefix: string;
  nodeId: string;
  /** Runs a command that reached this node as the room's owner; throws Reroute if it is not. */
  handle(roomCode: string, command: RoomCommand): Promise<unknown>;
  /** Moves sockets of this node into or out of a channel, for the node that asked (`moveSockets`). */
  applyMove(move: SocketMove): void;
  /** Whether the nodes' heartbeats exist (requests to a dead node are re-routed). */
  alive(nodeIds: readonly string[]): Promise<boolean[]>;
  logger: Logger;
}

/** Sockets of one node into or out of a Socket.IO channel (realtime/channels.ts "RemoteChannels"). */
export interface SocketMove {
  op: 'join' | 'leave';
  channel: string;
  socketIds: string[];
}

const inbox = (prefix: string, nodeId: string) => `${prefix}node:{${nodeId}}:inbox`;

/** How often the owners of requests still waiting for a reply are checked for a heartbeat. */
const ownerCheckEveryMs = 250;

const errorCodes = Object.keys(errorCatalog) as [ErrorCode, ...ErrorCode[]];
const message = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('request'), id: z.string(), from: z.string(), room: z.string(), command: z.looseObject({ type: z.string() }) }),
  z.object({
    kind: z.literal('move'),
    id: z.string(),
    from: z.string(),
    move: z.object({ op: z.enum(['join', 'leave']), channel: z.string(), socketIds: z.array(z.string()) }),
  }),
  z.object({ kind: z.literal('reply'), id: z.string(), value: z.unknown() }),
  z.object({
    kind: z.literal('error'),
    id: z.string(),
    code: z.enum(errorCodes),
    message: z.string(),
    status: z.number().int(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
  z.object({ kind: z.literal('reroute'), id: z.string(), reason: z.string() }),
]);
type Message = z.infer<typeof message>;

interface Pending {
  node: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export function createNodeInbox(deps: NodeInboxDeps): NodeInbox {
  const { publisher, subscriber, prefix, nodeId, logger } = deps;
  const pending = new Map<string, Pending>();
  const ownInbox = inbox(prefix, nodeId);
  let ownerCheck: NodeJS.Timeout | undefined;

  // On a Redis Cluster a classic PUBLISH goes to every shard and counts one shard's receivers:
  // sharded pub/sub there (SPUBLISH to the inbox's own shard, which counts them all).
  const sharded = publisher.isCluster;
  const send = (node: string, body: Message) =>
    sharded ? publisher.spublish(inbox(prefix, node), JSON.stringify(body)) : publisher.publish(inbox(prefix, node), JSON.stringify(body));

  function settle(id: string, outcome: { value: unknown } | { error: Error }) {
    const request = pending.get(id);
    if (!request) return;
    pending.delete(id);
    clearTimeout(request.timer);
    if ('error' in outcome) request.reject(outcome.error);
    else request.resolve(outcome.value);
  }

  /** Requests whose owner's heartbeat is gone will never be answered: send them elsewhere. */
  async function checkOwners() {
    const nodes = [...new Set([...pending.values()].map((p) => p.node))];
    const alive = await deps.alive(nodes);
    const dead = new Set(nodes.filter((_, i) => !alive[i]));
    for (const [id, request] of pending) {
      if (dead.has(request.node)) settle(id, { error: new Reroute(`node ${request.node} died before answering`) });
    }
  }

  async function serve(request: Extract<Message, { kind: 'request' }>) {
    let answer: Message;
    try {
      const value = await deps.handle(request.room, request.command as RoomCommand);
      answer = { kind: 'reply', id: request.id, value };
    } catch (error) {
      if (error instanceof AppError) {
        answer = {
          kind: 'error',
          id: request.id,
          code: error.code,
          message: error.message,
          status: error.status,
          ...(error.errors ? { errors: error.errors } : {}),
        };
      } else if (error instanceof Reroute) {
        answer = { kind: 'reroute', id: request.id, reason: error.message };
      } else {
        logger.error({ err: error, room_code: request.room, command: request.command.type }, 'forwarded room command failed');
        answer = { kind: 'error', id: request.id, code: 'UNAVAILABLE', message: errorCatalog.UNAVAILABLE.title, status: 503 };
      }
    }
    await send(request.from, answer);
  }

  function receive(channel: string, raw: string) {
    if (channel !== ownInbox) return;
    let parsed: Message;
    try {
      parsed = message.parse(JSON.parse(raw));
    } catch (error) {
      logger.warn({ err: error, component: 'cluster' }, 'dropped a malformed cluster message');
      return;
    }
    switch (parsed.kind) {
      case 'request':
        serve(parsed).catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'could not answer a forwarded command'));
        return;
      case 'move':
        deps.applyMove(parsed.move);
        send(parsed.from, { kind: 'reply', id: parsed.id, value: null }).catch((error: unknown) =>
          logger.warn({ err: error, component: 'cluster' }, 'could not confirm a socket move'),
        );
        return;
      case 'reply':
        settle(parsed.id, { value: parsed.value });
        return;
      case 'error': {
        const error = new AppError(parsed.code, parsed.message, parsed.errors);
        settle(parsed.id, { error: parsed.status === error.status ? error : error.withStatus(parsed.status) });
        return;
      }
      case 'reroute':
        settle(parsed.id, { error: new Reroute(parsed.reason) });
        return;
    }
  }

  /**
   * Replies come over the subscriber's connection, and pub/sub keeps nothing for a connection
   * that is down: once it drops, a reply on the way is lost, and waiting for it would last until
   * the deadline (10 s after a Redis failover, say). The request ends at once instead.
   */
  const lost = () => new AppError('UNAVAILABLE', 'The connection to Redis dropped while waiting for the room’s node: the command may or may not have run');
  const dropPending = () => {
    for (const id of [...pending.keys()]) settle(id, { error: lost() });
  };

  /** Sends a request and waits for its reply, its owner's death, or its deadline. */
  function ask(node: string, body: Extract<Message, { kind: 'request' | 'move' }>, deadline: number, late: () => Error): Promise<unknown> {
    // Not subscribed now (reconnecting): the reply could come before the subscription is back.
    if (subscriber.status !== 'ready') return Promise.reject(lost());
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => settle(body.id, { error: late() }), Math.max(0, deadline - Date.now()));
      pending.set(body.id, { node, resolve, reject, timer });
    });
    // Not awaited: while Redis is away the publish waits, and the reply can fail meanwhile (its
    // deadline, the owner check). The caller holds `reply` from now on, so that failure is theirs
    // to handle; a rejection with nobody awaiting it yet would take the process down.
    send(node, body).then(
      // Nobody listens on a dead node's inbox (its connection closed with it).
      (receivers) => receivers === 0 && settle(body.id, { error: new Reroute(`node ${node} is not listening`) }),
      (error: unknown) => settle(body.id, { error: error as Error }),
    );
    return reply;
  }

  return {
    request(node, roomCode, command, deadline) {
      const body = { kind: 'request' as const, id: randomUUID(), from: nodeId, room: roomCode, command };
      return ask(node, body, deadline, () => new AppError('ROOM_TIMEOUT', `The node running room ${roomCode} did not answer in time`));
    },

    async moveSockets(node, move, deadline) {
      await ask(node, { kind: 'move', id: randomUUID(), from: nodeId, move }, deadline, () => new Error(`node ${node} did not confirm a socket move in time`));
    },

    async start() {
      subscriber.on(sharded ? 'smessage' : 'message', receive);
      subscriber.on('close', dropPending);
      await (sharded ? subscriber.ssubscribe(ownInbox) : subscriber.subscribe(ownInbox));
      ownerCheck = setInterval(() => {
        if (pending.size > 0) checkOwners().catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'owner check failed'));
      }, ownerCheckEveryMs);
      ownerCheck.unref();
    },

    async close() {
      clearInterval(ownerCheck);
      subscriber.off(sharded ? 'smessage' : 'message', receive);
      subscriber.off('close', dropPending);
      // Without a connection there is nothing to unsubscribe from (and it would wait for one).
      if (subscriber.status === 'ready') await (sharded ? subscriber.sunsubscribe(ownInbox) : subscriber.unsubscribe(ownInbox)).catch(() => undefined);
      for (const id of [...pending.keys()]) settle(id, { error: new AppError('UNAVAILABLE', 'This node is shutting down') });
    },
  };
}
