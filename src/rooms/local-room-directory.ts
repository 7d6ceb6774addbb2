import type { Logger } from 'pino';
import { AppError } from '../errors/app-error';
import { StaleOwnerError, type Fence } from '../live-state/fencing';
import { emptyLiveState, type LiveStateStore } from '../live-state/live-state';
import { nextDeadline } from './room-steps';
import type { DurableChange, RoomEvent, RoomNotice } from './room.types';
import { createDeadlineScheduler } from './deadline-scheduler';
import { replyTo, summarize, type NoticePublisher, type RoomCommand, type RoomDirectory } from './room-directory';
import { contextFromStores, liveChange } from './room-projection';
import type { NewRoom, RoomRepository } from './room-repository';
import { createRoomSnapshot, restoreRoomSnapshot, statusOf, step, type RoomSnapshot } from './room-step';

export interface LocalRoomDirectoryDeps {
  repository: RoomRepository;
  liveState: LiveStateStore;
  logger: Logger;
  /** Tells members what changed; a failure here is logged, never undoes the command. */
  publish: NoticePublisher;
  emptyRoomTimeoutMs: number;
  reconnectGraceMs: number;
  /** How often the live state's TTL is pushed back for the rooms this node holds. */
  refreshEveryMs: number;
  /**
   * In a cluster: this node's claim on the room, whose epoch fences the PostgreSQL writes (the
   * live-state store fences its own). Undefined there means no claim: nothing may be written.
   */
  fenceOf?: (roomCode: string) => Fence | undefined;
  /** Where a due deadline's `expire` goes; by default this directory (the cluster routes it). */
  onDeadline?: (roomCode: string) => void;
  /**
   * Called when a room's actor leaves memory (the cluster forgets its claim then); `unused` when
   * it was created here and no command came for it while it was held.
   */
  onEvict?: (roomCode: string, unused: boolean) => void;
  now?: () => number;
}

/** A socket attached to a room held here, as the room records it. */
export interface HeldConnection {
  roomCode: string;
  userId: string;
  connectionId: string;
}

/** The single-node directory, plus what the cluster directory needs to run it as one node's share. */
export interface LocalRoomDirectory extends RoomDirectory {
  /** Forgets every room's snapshot: the next command reloads it from the stores. */
  dropAll(): void;
  /** The attached sockets recorded in the rooms this directory holds. */
  connections(): HeldConnection[];
}

/** One live room on this node: its adopted snapshot and its mailbox. */
interface Actor {
  /** Undefined until activated, and again after a failed command (the next one reloads). */
  snapshot: RoomSnapshot | undefined;
  /** The last queued command; the next one runs after it settles. */
  tail: Promise<unknown>;
  queued: number;
  /** Created here and no command has come for it yet. */
  unused: boolean;
}

/**
 * How long a room created here stays in memory waiting for its first command. Well within a
 * claim's lifetime (cluster/ownership.ts), so the claim it was created under still holds.
 */
const newRoomHoldMs = 10_000;

/**
 * The single-node room directory: every room's actor runs in this process. Commands for one
 * room run strictly one after another; different rooms run concurrently. For each command the
 * pure machine computes the next snapshot and its effects; the effects run (PostgreSQL, then the
 * live state) and only then is the snapshot adopted and the caller answered. If an effect fails,
 * the snapshot is dropped, the caller gets 503 UNAVAILABLE, and the next command reloads the
 * room from the stores, so memory never runs ahead of what was written.
 */
export function createLocalRoomDirectory(deps: LocalRoomDirectoryDeps): LocalRoomDirectory {
  const { repository, liveState, logger } = deps;
  const now = deps.now ?? Date.now;
  const actors = new Map<string, Actor>();
  const onDeadline =
    deps.onDeadline ??
    ((roomCode: string) => {
      dispatch(roomCode, { type: 'expire' }).catch((error: unknown) => logger.warn({ err: error, room_code: roomCode }, 'room deadline failed'));
    });
  const scheduler = createDeadlineScheduler(onDeadline, now);
  /** The timers that let go of new rooms nobody used. */
  const holds = new Set<NodeJS.Timeout>();

  /** The epoch to fence PostgreSQL with: none on a single node; in a cluster, this node's claim. */
  function epochOf(roomCode: string): number | undefined {
    if (!deps.fenceOf) return undefined;
    const fence = deps.fenceOf(roomCode);
    if (!fence) throw new StaleOwnerError(roomCode, 'this node holds no claim on it');
    return fence.epoch;
  }

  async function activate(roomCode: string): Promise<RoomSnapshot> {
    const stored = await repository.load(roomCode, epochOf(roomCode));
    if (!stored) throw new AppError('ROOM_NOT_FOUND');
    const live = stored.status === 'ended' ? emptyLiveState() : await liveState.read(roomCode);
    const context = contextFromStores(stored, live, { emptyRoomTimeoutMs: deps.emptyRoomTimeoutMs, reconnectGraceMs: deps.reconnectGraceMs, now: now() });
    const snapshot = restoreRoomSnapshot(stored.status, context);
    scheduler.arm(roomCode, nextDeadline(context));
    return snapshot;
  }

  /** The effects of one accepted command: PostgreSQL first, then the live state. */
  async function commit(roomCode: string, before: RoomSnapshot, after: RoomSnapshot, changes: DurableChange[]) {
    await repository.apply({ id: before.context.roomId, roomCode }, changes, epochOf(roomCode));
    if (statusOf(after) === 'ended') return liveState.delete(roomCode);
    const change = liveChange(before.context, after.context);
    if (change) await liveState.apply(roomCode, change);
  }

  async function run(roomCode: string, actor: Actor, command: RoomCommand) {
    actor.snapshot ??= await activate(roomCode);
    const before = actor.snapshot;
    if (command.type === 'inspect') return { room: summarize(before) };
    const result = step(before, { ...command, at: now() } as RoomEvent);
    if (result.refused) throw new AppError(result.refused.code, result.refused.detail);
    if (result.changed) {
      try {
        await commit(roomCode, before, result.snapshot, result.changes);
      } catch (error) {
        actor.snapshot = undefined;
        throw error;
      }
      actor.snapshot = result.snapshot;
      publish(roomCode, result.notices);
    }
    // Also after a no-op: an `expire` that came a moment early must find its timer set again.
    scheduler.arm(roomCode, nextDeadline(actor.snapshot.context));
    return replyTo(command, before.context, result.snapshot);
  }

  function publish(roomCode: string, notices: RoomNotice[]) {
    if (notices.length === 0) return;
    try {
      deps.publish(roomCode, notices);
    } catch (error) {
      logger.error({ err: error, room_code: roomCode }, 'publishing room notices failed');
    }
  }

  async function create(room: NewRoom): Promise<boolean> {
    if (!(await repository.create(room, epochOf(room.roomCode)))) return false;
    // Nobody knows the code yet, so no command came first, and the stores hold nothing else about
    // the room: its actor starts from the room as created, with no loading.
    if (!actors.has(room.roomCode)) {
      const actor: Actor = {
        snapshot: createRoomSnapshot({
          roomId: room.id,
          roomCode: room.roomCode,
          name: room.name,
          hostId: room.hostId,
          createdAt: room.createdAt,
          settings: room.settings,
          emptyRoomTimeoutMs: deps.emptyRoomTimeoutMs,
          reconnectGraceMs: deps.reconnectGraceMs,
        }),
        tail: Promise.resolve(),
        queued: 0,
        unused: true,
      };
      actors.set(room.roomCode, actor);
      const hold = setTimeout(() => {
        holds.delete(hold);
        evictIfIdle(room.roomCode, actor);
      }, newRoomHoldMs);
      hold.unref();
      holds.add(hold);
    }
    return true;
  }

  /** Rooms with nothing live (ended, or pending with an empty lobby) leave memory once idle. */
  function evictIfIdle(roomCode: string, actor: Actor) {
    if (actor.queued > 0 || actors.get(roomCode) !== actor) return;
    const snapshot = actor.snapshot;
    const status = snapshot ? statusOf(snapshot) : undefined;
    if (snapshot && status === 'active') return;
    if (snapshot && status === 'pending' && Object.keys(snapshot.context.lobby).length > 0) return;
    actors.delete(roomCode);
    if (status === 'ended') scheduler.arm(roomCode, null);
    deps.onEvict?.(roomCode, actor.unused);
  }

  function dispatch<C extends RoomCommand>(roomCode: string, command: C) {
    let actor = actors.get(roomCode);
    if (!actor) {
      actor = { snapshot: undefined, tail: Promise.resolve(), queued: 0, unused: false };
      actors.set(roomCode, actor);
    }
    const current = actor;
    current.queued += 1;
    current.unused = false;
    const result = current.tail.then(() => run(roomCode, current, command)).catch((error: unknown) => {
      if (error instanceof AppError) throw error;
      // Another node owns the room now: forget it here; the caller routes the command again.
      if (error instanceof StaleOwnerError) {
        current.snapshot = undefined;
        throw error;
      }
      // PostgreSQL or the live state failed: the room did not change; the caller may retry.
      logger.error({ err: error, room_code: roomCode, command: command.type }, 'room command failed');
      throw new AppError('UNAVAILABLE');
    });
    current.tail = result
      .catch(() => undefined)
      .finally(() => {
        current.queued -= 1;
        evictIfIdle(roomCode, current);
      });
    return result as ReturnType<RoomDirectory['dispatch']>;
  }

  const refresher = setInterval(() => {
    const live = [...actors].filter(([, actor]) => actor.snapshot && statusOf(actor.snapshot) !== 'ended').map(([code]) => code);
    if (live.length > 0) liveState.refresh(live).catch((error: unknown) => logger.warn({ err: error }, 'live state refresh failed'));
  }, deps.refreshEveryMs);
  refresher.unref();

  return {
    create,
    dispatch: dispatch as RoomDirectory['dispatch'],
    dropAll() {
      scheduler.clear();
      for (const [roomCode, actor] of actors) {
        actor.snapshot = undefined;
        evictIfIdle(roomCode, actor);
      }
    },
    connections() {
      const held: HeldConnection[] = [];
      for (const [roomCode, actor] of actors) {
        for (const [userId, ids] of Object.entries(actor.snapshot?.context.connections ?? {})) {
          for (const connectionId of ids) held.push({ roomCode, userId, connectionId });
        }
      }
      return held;
    },
    async close() {
      clearInterval(refresher);
      for (const hold of holds) clearTimeout(hold);
      holds.clear();
      scheduler.clear();
      await Promise.allSettled([...actors.values()].map((actor) => actor.tail));
    },
  };
}
