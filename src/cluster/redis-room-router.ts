import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../config/redis-target';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { AppError } from '../errors/app-error';
import { StaleOwnerError } from '../live-state/fencing';
import type { RoomRuntime } from '../rooms/room-runtime.types';
import { asRoomError, type RoomCommand, type RoomRouter } from '../rooms/room-router';
import type { NewRoom } from '../rooms/room-repository';
import { createClusterMaintenance } from './cluster-maintenance';
import { createNodeInbox, Reroute, type SocketMove } from './node-inbox';
import { heartbeatTtlMs, type NodeMembership } from './node-membership';
import { ClaimDeferredError } from './ownership';

export interface RedisRoomRouterDeps {
  /** This node's heartbeat, ownership and claims (node-membership.ts). */
  membership: NodeMembership;
  /** The runtime of the rooms this node owns, fenced by the membership's claims. */
  runtime: RoomRuntime;
  /** Commands, ownership and replies. */
  redis: RedisClient;
  /** A second connection, for receiving forwarded commands and replies (subscriber mode). */
  subscriber: RedisClient;
  prefix: string;
  nodeId: string;
  logger: Logger;
  /** Whether a socket id is connected to this node (its stale connections are detached). */
  isLocalSocket(socketId: string): boolean;
  /** Moves sockets of this node into or out of a channel, when another node asks (`moveSockets`). */
  applyMove(move: SocketMove): void;
}

export interface RedisRoomRouter extends RoomRouter {
  /** Starts the heartbeat and the inbox; commands wait for them (within their timeout). */
  start(): Promise<void>;
  /**
   * Has another node move some of its sockets into or out of a channel, resolving once it has
   * (or has died, or a moment has passed): what a room's later events wait for on a Redis Cluster
   * (realtime/channels.ts "RemoteChannels").
   */
  moveSockets(node: string, move: SocketMove): Promise<void>;
}

/** How many rooms a node restores at once after Redis comes back. */
const restoreBatch = 50;
/** Rooms whose owner this node remembers for forwarding (the least recently used are forgotten). */
const maxOwnerHints = 10_000;
/** How long a command may take from any node, retries included, before ROOM_TIMEOUT. */
const commandTimeoutMs = 10_000;
/** How long a room's later events wait for another node to move its sockets. */
const moveTimeoutMs = 2_000;

/**
 * The cluster's room router (docs/scaling.md "How rooms run in a cluster"): it maps rooms to
 * nodes. Each room's actor runs on one node, its owner, in that node's room runtime (built by
 * the composition root, as on a single node); a command arriving anywhere else is forwarded to the owner
 * (node-inbox.ts) and answered from there. With no live owner, the node the command reached
 * claims the room (a new epoch) and activates it from PostgreSQL and the live state, re-arming
 * its deadlines. A command caught by its owner's death is routed again until a new owner
 * answers, so callers see a slower reply, not an error; only the overall timeout ends it
 * (ROOM_TIMEOUT).
 *
 * Every write is fenced with this node's claim (node-claims.ts), so a node that lost a room
 * (paused, partitioned) cannot change it; its heartbeat lease makes it drop its actors first.
 * The upkeep that is not routing (sweeps, overdue deadlines, adoption) is cluster-maintenance.ts.
 */
export function createRedisRoomRouter(deps: RedisRoomRouterDeps): RedisRoomRouter {
  const { redis, prefix, nodeId, logger } = deps;
  let state: 'running' | 'draining' | 'closed' = 'running';
  const inFlight = new Set<Promise<unknown>>();

  const { heartbeat, ownership, claims } = deps.membership;
  const runtime = deps.runtime;
  deps.membership.listen({
    lapsed: () => runtime.suspend(),
    resumed({ reset }) {
      if (reset) runtime.suspend();
      void restoreRooms();
    },
  });
  const inbox = createNodeInbox({
    publisher: redis,
    subscriber: deps.subscriber,
    prefix,
    nodeId,
    logger,
    alive: (nodes) => ownership.alive(nodes),
    handle: runForwarded,
    applyMove: deps.applyMove,
  });

  /**
   * The owners of rooms this node forwarded to recently, so a forward costs one publish rather
   * than a claim script too. A wrong hint costs a retry: the node named answers "moved" (or is
   * not listening), the hint is dropped, and the claim script decides.
   */
  const ownerHints = new LRUCache<string, string>({ max: maxOwnerHints });
  const rememberOwner = (roomCode: string, owner: string) => void ownerHints.set(roomCode, owner);

  /** The room's owner: this node while its claim and lease hold, else whoever the claim names. */
  async function ownerOf(roomCode: string, useHint: boolean): Promise<string> {
    if (claims.fenceOf(roomCode)) return nodeId;
    const hint = useHint ? ownerHints.get(roomCode) : undefined;
    if (hint) return hint;
    // On a first try the record's owner is trusted as a hint is: a dead one answers nobody, and the retry checks.
    const fence = await ownership.claim(roomCode, { previousOwner: runtime.retains(roomCode), trustRecord: useHint });
    if (fence.node !== nodeId) {
      rememberOwner(roomCode, fence.node);
      return fence.node;
    }
    ownerHints.delete(roomCode);
    if (claims.replaces(roomCode, fence)) runtime.unloadAll();
    claims.record(roomCode, fence);
    return nodeId;
  }

  /** Runs a command on this node's runtime. An ended or unknown room gives its claim up. */
  async function runHere(roomCode: string, command: RoomCommand): Promise<unknown> {
    try {
      const reply = await runtime.run(roomCode, command);
      if (reply.room.status === 'ended') await claims.retire(roomCode);
      return reply;
    } catch (error) {
      if (error instanceof AppError && error.code === 'ROOM_NOT_FOUND') await claims.retire(roomCode);
      if (!(error instanceof StaleOwnerError)) throw error;
      claims.forget(roomCode);
      throw new Reroute(error.message);
    }
  }

  /** A command forwarded here by another node: run it if this node owns the room. */
  async function runForwarded(roomCode: string, command: RoomCommand): Promise<unknown> {
    if (state !== 'running') throw new Reroute(`node ${nodeId} is handing its rooms off`);
    // Never a hint here: answering "moved" must rest on the owner record itself.
    const owner = await ownerOf(roomCode, false);
    if (owner !== nodeId) throw new Reroute(`room ${roomCode} is owned by ${owner}`);
    return runHere(roomCode, command);
  }

  /**
   * Takes back the rooms this node held before its lease lapsed or Redis lost its data, at once
   * rather than at their next command: while Redis is being restored, only this node may claim
   * them, and their live state goes back in on activation (room-runtime.ts). A room that another node
   * runs by now is left to it.
   */
  async function restoreRooms(): Promise<void> {
    const rooms = runtime.retainedRooms();
    for (let i = 0; i < rooms.length && state === 'running'; i += restoreBatch) {
      await Promise.all(
        rooms.slice(i, i + restoreBatch).map((roomCode) =>
          track(
            (async () => {
              if ((await ownerOf(roomCode, false)) === nodeId) await runHere(roomCode, { type: 'inspect' });
            })(),
          ).catch((error: unknown) => logger.warn({ err: error, room_code: roomCode, component: 'cluster' }, 'could not take a room back')),
        ),
      );
    }
  }

  async function route(roomCode: string, command: RoomCommand): Promise<unknown> {
    const deadline = Date.now() + commandTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const owner = await ownerOf(roomCode, attempt === 0);
        if (owner === nodeId) return await runHere(roomCode, command);
        return await inbox.request(owner, roomCode, command, deadline);
      } catch (error) {
        if (!(error instanceof Reroute || error instanceof ClaimDeferredError)) throw error;
        ownerHints.delete(roomCode);
        // A stale hint is no reason to wait: ask the owner record at once.
        if (attempt === 0 && error instanceof Reroute) continue;
        // The owner is gone or moved: wait a little (a dead owner's heartbeat expires within
        // heartbeatTtlMs) and route again.
        const pause = Math.min(50 * 2 ** attempt, 200);
        if (Date.now() + pause >= deadline) throw new AppError('ROOM_TIMEOUT', `Room ${roomCode} found no owner in time: ${error.message}`);
        await sleep(pause);
      }
    }
  }

  /**
   * A new room is claimed before it is written, fenced with that claim from its first row, and
   * its actor starts here: its first commands (the host joining) need no claim and no loading.
   * Without a claim (Redis unreachable, this node's lease lapsed) the room is only written, and
   * whichever node its first command reaches activates it, as for any other room.
   */
  async function create(room: NewRoom): Promise<boolean> {
    // While Redis is unreachable a claim would wait for it: the room is written to PostgreSQL alone.
    const fence =
      redis.status !== 'ready'
        ? undefined
        : await ownership.claim(room.roomCode).catch((error: unknown) => {
            logger.warn({ err: error, room_code: room.roomCode }, 'could not claim a new room; its first command will');
            return undefined;
          });
    // A live node runs a room with this code: the code is taken.
    if (fence && fence.node !== nodeId) return false;
    if (!fence || !heartbeat.valid()) return runtime.create(room, false);
    claims.record(room.roomCode, fence);
    try {
      if (await runtime.create(room, true)) return true;
    } catch (error) {
      await claims.retire(room.roomCode);
      // The lease ran out in between (nothing was written): write the room without holding it.
      if (error instanceof StaleOwnerError) return runtime.create(room, false);
      throw error;
    }
    // The code belongs to a room whose owner is gone: leave it to the next command, as it was.
    await claims.release(room.roomCode);
    return false;
  }

  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    void work.catch(() => undefined).finally(() => inFlight.delete(work));
    return work;
  }

  function dispatch(roomCode: string, command: RoomCommand): Promise<unknown> {
    if (state === 'closed') return Promise.reject(new AppError('UNAVAILABLE', 'This node is shutting down'));
    return track(
      route(roomCode, command).catch((error: unknown) => {
        throw asRoomError(error, logger, roomCode, command);
      }),
    );
  }

  const maintenance = createClusterMaintenance({
    redis,
    prefix,
    nodeId,
    logger,
    heartbeatTtlMs,
    isRunning: () => state === 'running',
    dispatch,
    connections: () => runtime.connections(),
    isLocalSocket: (socketId) => deps.isLocalSocket(socketId),
    alive: (nodes) => ownership.alive(nodes),
    steadyFor: (ms) => heartbeat.steadyFor(ms),
  });
  // Armed at construction, not in start(): the router takes commands from the moment it exists
  // (they wait for start() within their timeout), and the sweeps' repairs are commands too.
  maintenance.start();

  return {
    create(room) {
      if (state !== 'running') return Promise.reject(new AppError('UNAVAILABLE', 'This node is shutting down'));
      return track(create(room));
    },

    dispatch: dispatch as RoomRouter['dispatch'],

    async start() {
      await Promise.all([heartbeat.start(), inbox.start()]);
    },

    moveSockets: (node, move) => inbox.moveSockets(node, move, Date.now() + moveTimeoutMs),

    /**
     * The SIGTERM hand-off: finish the commands already started (the detaches of this node's
     * sockets among them), stop taking commands for this node's rooms, drain their mailboxes,
     * give every claim back so the next command anywhere takes the room over at once, and only
     * then stop answering and beating.
     */
    async close() {
      // The sweeps stop first: they send commands, and the hand-off must see all of them.
      maintenance.close();
      await Promise.allSettled([...inFlight]);
      state = 'draining';
      await runtime.close();
      state = 'closed';
      await claims.releaseAll();
      await inbox.close();
      await heartbeat.stop();
    },
  };
}
