import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { AppError } from '../errors/app-error';
import { StaleOwnerError, type Fence } from '../live-state/fencing';
import { createRedisLiveStateStore } from '../live-state/redis-live-state';
import { createLocalRoomDirectory, type LocalRoomDirectoryDeps } from '../rooms/local-room-directory';
import type { RoomCommand, RoomDirectory } from '../rooms/room-directory';
import type { NewRoom } from '../rooms/room-repository';
import { createClusterMaintenance } from './cluster-maintenance';
import { createHeartbeat } from './heartbeat';
import { createOwnership, NodeNotAliveError } from './ownership';
import { createRoomRouter, Reroute } from './room-router';

export interface ClusterRoomDirectoryDeps extends Omit<LocalRoomDirectoryDeps, 'liveState' | 'onDeadline' | 'onEvict' | 'fenceOf'> {
  /** Commands, live state, ownership, heartbeat and replies. */
  redis: Redis;
  /** A second connection, for receiving forwarded commands and replies (subscriber mode). */
  subscriber: Redis;
  prefix: string;
  nodeId: string;
  liveStateTtlMs: number;
  /** Whether a socket id is connected to this node (its stale connections are detached). */
  isLocalSocket(socketId: string): boolean;
}

export interface ClusterRoomDirectory extends RoomDirectory {
  /** Starts the heartbeat and the inbox; commands wait for them (within their timeout). */
  start(): Promise<void>;
}

/** Liveness: a node whose key is this old is dead to the others (README "Scaling out": kill → ≤ 3 s). */
export const heartbeatTtlMs = 1500;
const heartbeatEveryMs = 300;
/** Rooms whose owner this node remembers for forwarding (the least recently used are forgotten). */
const maxOwnerHints = 10_000;
/** How long a command may take from any node, retries included, before ROOM_TIMEOUT. */
const commandTimeoutMs = 10_000;

/**
 * The cluster's room directory (README "Scaling out"). Each room's actor runs on one node, its owner,
 * in that node's local directory; a command arriving anywhere else is forwarded to the owner
 * and answered from there. With no live owner, the node the command reached claims the room
 * (a new epoch) and activates it from PostgreSQL and the live state, re-arming its deadlines.
 * A command caught by its owner's death is retried here until a new owner answers, so callers
 * see a slower reply, not an error; only the overall timeout ends it (ROOM_TIMEOUT).
 *
 * Every live-state write is fenced with this node's claim, so a node that lost a room (paused,
 * partitioned) cannot change it; its heartbeat lease makes it drop its actors first.
 */
export function createClusterRoomDirectory(deps: ClusterRoomDirectoryDeps): ClusterRoomDirectory {
  const { redis, prefix, nodeId, logger } = deps;
  /** This node's claims, by room. Only rooms with a claim run here. */
  const fences = new Map<string, Fence>();
  let state: 'running' | 'draining' | 'closed' = 'running';
  const inFlight = new Set<Promise<unknown>>();

  const heartbeat = createHeartbeat(redis, {
    nodeId,
    prefix,
    ttlMs: heartbeatTtlMs,
    everyMs: heartbeatEveryMs,
    logger,
    onLapse() {
      fences.clear();
      local.dropAll();
    },
  });
  const ownership = createOwnership(redis, { prefix, nodeId });
  /** This node's claim on a room, while its lease holds. Every write of the room is fenced with it. */
  const fenceOf = (roomCode: string) => (heartbeat.valid() ? fences.get(roomCode) : undefined);
  const local = createLocalRoomDirectory({
    ...deps,
    fenceOf,
    liveState: createRedisLiveStateStore(redis, { prefix, ttlMs: deps.liveStateTtlMs, fenceOf }),
    onDeadline(roomCode) {
      dispatch(roomCode, { type: 'expire' }).catch((error: unknown) => logger.warn({ err: error, room_code: roomCode }, 'room deadline failed'));
    },
    onEvict(roomCode, unused) {
      // A room created here that nobody used gives its claim back, so no record or index entry
      // outlives it; any other idle room keeps its record until the claim expires.
      if (unused) void retire(roomCode);
      else fences.delete(roomCode);
    },
  });
  const router = createRoomRouter({
    publisher: redis,
    subscriber: deps.subscriber,
    prefix,
    nodeId,
    logger,
    alive: (nodes) => ownership.alive(nodes),
    handle: runHere,
  });

  /**
   * The owners of rooms this node forwarded to recently, so a forward costs one publish rather
   * than a claim script too. A wrong hint costs a retry: the node named answers "moved" (or is
   * not listening), the hint is dropped, and the claim script decides.
   */
  const ownerHints = new Map<string, string>();
  const rememberOwner = (roomCode: string, owner: string) => {
    ownerHints.delete(roomCode);
    ownerHints.set(roomCode, owner);
    // Maps iterate in insertion order: the first key is the hint used longest ago.
    if (ownerHints.size > maxOwnerHints) ownerHints.delete(ownerHints.keys().next().value!);
  };

  /** The room's owner: this node while its claim and lease hold, else whoever the claim names. */
  async function ownerOf(roomCode: string, useHint: boolean): Promise<string> {
    if (fences.has(roomCode) && heartbeat.valid()) return nodeId;
    const hint = useHint ? ownerHints.get(roomCode) : undefined;
    if (hint) return hint;
    const fence = await ownership.claim(roomCode);
    if (fence.node !== nodeId) {
      rememberOwner(roomCode, fence.node);
      return fence.node;
    }
    ownerHints.delete(roomCode);
    const known = fences.get(roomCode);
    // Someone else held the room since our last claim: what we remember of it is stale.
    if (known && known.epoch !== fence.epoch) local.dropAll();
    fences.set(roomCode, fence);
    return nodeId;
  }

  async function runLocally(roomCode: string, command: RoomCommand): Promise<unknown> {
    try {
      const reply = await local.dispatch(roomCode, command);
      if (reply.room.status === 'ended') await retire(roomCode);
      return reply;
    } catch (error) {
      if (error instanceof AppError && error.code === 'ROOM_NOT_FOUND') await retire(roomCode);
      if (!(error instanceof StaleOwnerError)) throw error;
      fences.delete(roomCode);
      throw new Reroute(error.message);
    }
  }

  /**
   * An ended or unknown room keeps no claim: nothing about it changes any more, and a stream of
   * commands for made-up codes must not leave records behind.
   */
  async function retire(roomCode: string): Promise<void> {
    const fence = fences.get(roomCode);
    if (!fence) return;
    fences.delete(roomCode);
    // Best effort: a record left behind expires with its claim (60 s).
    await ownership.retire(roomCode, fence).catch((error: unknown) => logger.warn({ err: error, room_code: roomCode }, 'could not retire a room claim'));
  }

  /** A command forwarded here by another node: run it if this node owns the room. */
  async function runHere(roomCode: string, command: RoomCommand): Promise<unknown> {
    if (state !== 'running') throw new Reroute(`node ${nodeId} is handing its rooms off`);
    // Never a hint here: answering "moved" must rest on the owner record itself.
    const owner = await ownerOf(roomCode, false);
    if (owner !== nodeId) throw new Reroute(`room ${roomCode} is owned by ${owner}`);
    return runLocally(roomCode, command);
  }

  async function route(roomCode: string, command: RoomCommand): Promise<unknown> {
    const deadline = Date.now() + commandTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const owner = await ownerOf(roomCode, attempt === 0);
        if (owner === nodeId) return await runLocally(roomCode, command);
        return await router.request(owner, roomCode, command, deadline);
      } catch (error) {
        if (!(error instanceof Reroute || error instanceof NodeNotAliveError)) throw error;
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
  async function createHere(room: NewRoom): Promise<boolean> {
    const fence = await ownership.claim(room.roomCode).catch((error: unknown) => {
      logger.warn({ err: error, room_code: room.roomCode }, 'could not claim a new room; its first command will');
      return undefined;
    });
    // A live node runs a room with this code: the code is taken.
    if (fence && fence.node !== nodeId) return false;
    if (!fence || !heartbeat.valid()) return deps.repository.create(room);
    fences.set(room.roomCode, fence);
    try {
      if (await local.create(room)) return true;
    } catch (error) {
      await retire(room.roomCode);
      // The lease ran out in between (nothing was written): write the room without holding it.
      if (error instanceof StaleOwnerError) return deps.repository.create(room);
      throw error;
    }
    // The code belongs to a room whose owner is gone: leave it to the next command, as it was.
    fences.delete(room.roomCode);
    await ownership.release(room.roomCode, fence).catch((error: unknown) => logger.warn({ err: error, room_code: room.roomCode }, 'could not release a room claim'));
    return false;
  }

  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    void work.catch(() => undefined).finally(() => inFlight.delete(work));
    return work;
  }

  function dispatch(roomCode: string, command: RoomCommand): Promise<unknown> {
    if (state === 'closed') return Promise.reject(new AppError('UNAVAILABLE', 'This node is shutting down'));
    const result = route(roomCode, command).catch((error: unknown) => {
      if (error instanceof AppError) throw error;
      logger.error({ err: error, room_code: roomCode, command: command.type }, 'room command failed');
      throw new AppError('UNAVAILABLE');
    });
    return track(result);
  }

  const maintenance = createClusterMaintenance({
    redis,
    prefix,
    nodeId,
    logger,
    heartbeatTtlMs,
    isRunning: () => state === 'running',
    dispatch,
    connections: () => local.connections(),
    isLocalSocket: (socketId) => deps.isLocalSocket(socketId),
    alive: (nodes) => ownership.alive(nodes),
  });
  // Armed at construction, not in start(): the directory takes commands from the moment it exists
  // (they wait for start() within their timeout), and the sweeps' repairs are commands too.
  maintenance.start();

  return {
    create(room) {
      if (state !== 'running') return Promise.reject(new AppError('UNAVAILABLE', 'This node is shutting down'));
      return track(createHere(room));
    },

    dispatch: dispatch as RoomDirectory['dispatch'],

    async start() {
      await Promise.all([heartbeat.start(), router.start()]);
    },

    /**
     * The SIGTERM hand-off: finish the commands already started (the detaches of this node's
     * sockets among them), stop taking commands for this node's rooms, drain their mailboxes,
     * release every claim so the next command anywhere takes the room over at once, and only
     * then stop answering and beating.
     */
    async close() {
      // The sweeps stop first: they send commands, and the hand-off must see all of them.
      maintenance.close();
      await Promise.allSettled([...inFlight]);
      state = 'draining';
      await local.close();
      state = 'closed';
      const claims = [...fences];
      fences.clear();
      await Promise.allSettled(claims.map(([roomCode, fence]) => ownership.release(roomCode, fence)));
      await router.close();
      await heartbeat.stop();
    },
  };
}
