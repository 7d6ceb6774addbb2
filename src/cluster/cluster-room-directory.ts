import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis, Result } from 'ioredis';
import { AppError } from '../errors/app-error';
import { StaleOwnerError, type Fence } from '../live-state/fencing';
import { deadlineIndexKey, nodeRegistryKey, nodeRoomsKey } from '../live-state/redis-keys';
import { createRedisLiveStateStore } from '../live-state/redis-live-state';
import { createLocalRoomDirectory, type HeldConnection, type LocalRoomDirectoryDeps } from '../rooms/local-room-directory';
import type { RoomCommand, RoomDirectory } from '../rooms/room-directory';
import type { NewRoom } from '../rooms/room-repository';
import { parseConnectionId } from './connection-ids';
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

/** Liveness: a node whose key is this old is dead to the others (DESIGN.md §9: kill → ≤ 3 s). */
export const heartbeatTtlMs = 1500;
const heartbeatEveryMs = 300;
/** Rooms whose owner this node remembers for forwarding (the least recently used are forgotten). */
const maxOwnerHints = 10_000;
/** How long a command may take from any node, retries included, before ROOM_TIMEOUT. */
const commandTimeoutMs = 10_000;
/** How often the sockets recorded in this node's rooms are checked against the live nodes. */
const sweepEveryMs = 1000;
/** How often this node looks for rooms whose deadline nobody ran. */
const overduePollEveryMs = 1000;
/** A deadline this late was not run by its owner's timer (the owner died or handed the room off). */
const overdueAfterMs = 2000;
/** A node silent this long past its heartbeat's TTL is dead for certain; its rooms are adopted. */
const deadNodeSlackMs = 1000;

/** Removes a room from the deadline index if its score is still the one that was read. */
const dropIndexEntryScript = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    dropIndexEntry(key: string, roomCode: string, score: string): Result<number, Context>;
  }
}

/**
 * The cluster's room directory (DESIGN.md §9). Each room's actor runs on one node, its owner,
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

  /**
   * Sockets recorded in this node's rooms whose node died, or which this node no longer has,
   * are detached, as their own disconnect would have done (their users get the reconnect grace).
   */
  async function sweepConnections(): Promise<void> {
    // Grouped by the node holding each socket: one liveness check per node, not per socket.
    const byNode = new Map<string, (HeldConnection & { socketId: string })[]>();
    for (const connection of local.connections()) {
      const { nodeId: holder, socketId } = parseConnectionId(connection.connectionId);
      if (holder === null) continue;
      let group = byNode.get(holder);
      if (!group) byNode.set(holder, (group = []));
      group.push({ ...connection, socketId });
    }
    const others = [...byNode.keys()].filter((node) => node !== nodeId);
    const alive = await ownership.alive(others);
    const stale = [
      ...(byNode.get(nodeId) ?? []).filter((c) => !deps.isLocalSocket(c.socketId)),
      ...others.filter((_, i) => !alive[i]).flatMap((node) => byNode.get(node) ?? []),
    ];
    for (const { roomCode, userId, connectionId } of stale) {
      dispatch(roomCode, { type: 'detach', userId, connectionId }).catch((error: unknown) =>
        logger.warn({ err: error, room_code: roomCode, user_id: userId }, 'detaching a stale connection failed'),
      );
    }
  }
  const sweeper = setInterval(() => {
    if (state === 'running') sweepConnections().catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'connection sweep failed'));
  }, sweepEveryMs);
  sweeper.unref();

  /**
   * Rooms nobody runs any more (their owner died, or handed them off and nobody has used them
   * since) still have deadlines: a reconnect grace, the empty-room timeout. Every write keeps
   * each room's earliest deadline in `rooms:deadlines`; any node that finds one overdue sends the
   * room `expire`, which takes the room over if it has no live owner. An entry that the room
   * itself does not act on (nothing was due after all) is dropped, so it is not retried forever.
   */
  async function runOverdueDeadlines(): Promise<void> {
    const due = await redis.zrangebyscore(deadlineIndexKey(prefix), '-inf', Date.now() - overdueAfterMs, 'WITHSCORES', 'LIMIT', 0, 20);
    for (let i = 0; i < due.length; i += 2) {
      const roomCode = due[i]!;
      const settled = await dispatch(roomCode, { type: 'expire' }).then(
        () => true,
        (error: unknown) => {
          if (error instanceof AppError && error.code === 'ROOM_NOT_FOUND') return true;
          logger.warn({ err: error, room_code: roomCode }, 'overdue room deadline failed');
          return false;
        },
      );
      if (settled) await redis.dropIndexEntry(deadlineIndexKey(prefix), roomCode, due[i + 1]!);
    }
  }
  /**
   * The rooms of a node that died are adopted as a whole: nodes beat into the `nodes` registry,
   * and whichever node finds one silent for longer than the heartbeat's TTL takes its rooms from
   * its `node:{id}:rooms` index (SPOP, so two adopters share them out) and sends each `expire`,
   * which claims it here. That covers a room whose users were all connected to the dead node
   * and none came back: it has no deadline yet, until the sweep detaches those sockets.
   */
  async function adoptRoomsOfDeadNodes(): Promise<void> {
    const dead = await redis.zrangebyscore(nodeRegistryKey(prefix), '-inf', Date.now() - heartbeatTtlMs - deadNodeSlackMs, 'LIMIT', 0, 10);
    for (const node of dead) {
      if (node === nodeId) continue;
      for (;;) {
        const rooms = await redis.spop(nodeRoomsKey(prefix, node), 50);
        await Promise.all(
          rooms.map((roomCode) =>
            dispatch(roomCode, { type: 'expire' }).catch((error: unknown) => logger.warn({ err: error, room_code: roomCode, dead_node: node }, 'adopting a room failed')),
          ),
        );
        if (rooms.length < 50) break;
      }
      await redis.zrem(nodeRegistryKey(prefix), node);
      logger.info({ dead_node: node, component: 'cluster' }, 'adopted the rooms of a dead node');
    }
  }

  const overduePoller = setInterval(() => {
    if (state !== 'running') return;
    runOverdueDeadlines().catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'overdue deadline poll failed'));
    adoptRoomsOfDeadNodes().catch((error: unknown) => logger.warn({ err: error, component: 'cluster' }, 'adopting rooms of dead nodes failed'));
  }, overduePollEveryMs);
  overduePoller.unref();
  if (typeof redis.dropIndexEntry !== 'function') redis.defineCommand('dropIndexEntry', { numberOfKeys: 1, lua: dropIndexEntryScript });

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
      clearInterval(sweeper);
      clearInterval(overduePoller);
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
