import { AppError } from '../errors/app-error';
import { StaleOwnerError } from '../live-state/fencing';
import { createDeadlineScheduler } from './deadline-scheduler';
import { nextDeadline } from './step-helpers';
import { createRetainedSnapshots } from './retained-snapshots';
import type { RoomOutcome } from './room-outbox';
import type { NewRoom } from './room-repository';
import type { RoomCommand } from './room-router';
import { LiveStateNotWritten } from './room-store';
import type { HeldConnection, RoomRuntime, RoomRuntimeDeps } from './room-runtime.types';
import { createRoomSnapshot, statusOf, type RoomSnapshot } from './machine-runner';
import { answer, socketAttached, stepBatch, type Letter } from './room-batch';

/** One live room on this node: its adopted snapshot and its mailbox. */
interface Actor {
  /** Undefined until activated, and again after a failed commit (the next batch reloads). */
  snapshot: RoomSnapshot | undefined;
  /** Commands waiting for the batch being written. */
  mailbox: Letter[];
  /** How many at the mailbox's head run one per batch: those of a batch one command spoiled. */
  alone: number;
  /** Settles when the mailbox is empty again; undefined while it is. */
  draining: Promise<void> | undefined;
  /** Created here and no command has come for it yet. */
  unused: boolean;
}

const newActor = (snapshot: RoomSnapshot | undefined, unused: boolean): Actor => ({ snapshot, mailbox: [], alone: 0, draining: undefined, unused });

/**
 * How long a room created here stays in memory waiting for its first command. Well within a
 * claim's lifetime (cluster/ownership.ts), so the claim it was created under still holds.
 */
const newRoomHoldMs = 10_000;

/**
 * The room runtime: one actor per room held here. Commands for one room run strictly one after
 * another; different rooms run concurrently. The pure machine computes each command's next
 * snapshot and effects; the effects run (PostgreSQL, then the live state) and only then is the
 * snapshot adopted and the caller answered. Commands that queue while a room's effects are being
 * written run together next, each on the room the ones before it left, and are written in one
 * commit (room-batch.ts): a burst of joins costs one transaction, not one each. If an effect
 * fails, the snapshot is dropped and the error goes to the callers (503 UNAVAILABLE, or a
 * re-route when the fence refused), and the next command reloads the room from the stores, so
 * memory never runs ahead of what was written.
 */
export function createRoomRuntime(deps: RoomRuntimeDeps): RoomRuntime {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const actors = new Map<string, Actor>();
  /** Set by close(): a deadline is then the next owner's to run (it re-arms it on activation). */
  let closed = false;
  const scheduler = createDeadlineScheduler((roomCode) => {
    if (closed) return;
    deps.expire(roomCode).catch((error: unknown) => logger.warn({ err: error, room_code: roomCode }, 'room deadline failed'));
  }, now);
  /** The timers that let go of new rooms nobody used. */
  const holds = new Set<NodeJS.Timeout>();
  /** Snapshots of rooms this node stopped holding, for writing back a live state Redis lost. */
  const retained = createRetainedSnapshots(now);

  /** Loads the room from the stores, writing back a snapshot this node set aside if Redis lost it. */
  async function activate(roomCode: string): Promise<RoomSnapshot> {
    const kept = retained.take(roomCode);
    let snapshot: RoomSnapshot;
    try {
      snapshot = await store.load(roomCode, kept);
    } catch (error) {
      if (kept) retained.keep(roomCode, kept);
      throw error;
    }
    scheduler.arm(roomCode, nextDeadline(snapshot.context));
    return snapshot;
  }

  /**
   * The effects of a batch's accepted commands; a live state left behind PostgreSQL keeps the
   * snapshot for writing back. The fence's refusal is returned when PostgreSQL took the change and
   * then the live state's fence refused it (the claim ended in between): PostgreSQL's part stands
   * (the next owner's load moves its epoch only once our row lock is released, so it loads the
   * change; routed again, such a command would run twice: a join refused as REMOVED_FROM_ROOM
   * after the host saw the guest in and removed them); the live state's part is lost.
   */
  async function commit(outcomes: RoomOutcome[]): Promise<StaleOwnerError | undefined> {
    if (outcomes.length === 0) return undefined;
    try {
      await store.commit(outcomes);
      return undefined;
    } catch (error) {
      if (!(error instanceof LiveStateNotWritten)) throw error;
      // PostgreSQL has the change: if Redis turns out to have lost the room, this is what goes back.
      retained.keep(error.after.context.roomCode, error.after);
      if (error.cause instanceof StaleOwnerError) return error.cause;
      throw error.cause;
    }
  }

  /** Runs the mailbox's commands in batches until it is empty. */
  async function drain(roomCode: string, actor: Actor) {
    // Commands sent in the same tick as the first share its batch.
    await null;
    while (actor.mailbox.length > 0) {
      try {
        actor.snapshot ??= await activate(roomCode);
      } catch (error) {
        actor.alone = 0;
        for (const letter of actor.mailbox.splice(0)) letter.reject(error);
        continue;
      }
      const letters = actor.mailbox.splice(0, actor.alone > 0 ? 1 : actor.mailbox.length);
      actor.alone = Math.max(0, actor.alone - 1);
      await execute(roomCode, actor, actor.snapshot, letters);
    }
    actor.draining = undefined;
    unloadIfIdle(roomCode, actor);
  }

  async function execute(roomCode: string, actor: Actor, before: RoomSnapshot, letters: Letter[]) {
    const batch = stepBatch(before, letters, now);
    let superseded: StaleOwnerError | undefined;
    try {
      superseded = await commit(batch.outcomes);
    } catch (error) {
      actor.snapshot = undefined;
      // One command's write was refused (an account deleted under its join): nothing of the batch
      // was written, and its commands run again one per batch, so only that one fails.
      if (letters.length > 1 && error instanceof AppError) {
        actor.mailbox.unshift(...letters);
        actor.alone += letters.length;
        return;
      }
      return answer(letters, batch, { error, durableStands: false });
    }
    if (superseded) {
      // What PostgreSQL took is answered as done; a change only the live state held (a rejection)
      // was lost, and the fence's refusal sends that command to the new owner. The room, its
      // deadlines and notices are that owner's now (a notice from here could overtake its own).
      actor.snapshot = undefined;
      return answer(letters, batch, { error: superseded, durableStands: true });
    }
    actor.snapshot = batch.snapshot;
    try {
      if (batch.notices.length > 0) deps.publish(roomCode, batch.notices, socketAttached(before, batch));
    } catch (error) {
      logger.error({ err: error, room_code: roomCode }, 'publishing room notices failed');
    }
    // Also after a no-op: an `expire` that came a moment early must find its timer set again.
    scheduler.arm(roomCode, nextDeadline(batch.snapshot.context));
    answer(letters, batch);
  }

  async function create(room: NewRoom, hold: boolean): Promise<boolean> {
    const snapshot = createRoomSnapshot({
      roomId: room.id,
      roomCode: room.roomCode,
      name: room.name,
      hostId: room.hostId,
      createdAt: room.createdAt,
      schedule: room.schedule,
      settings: room.settings,
      timings: deps.timings,
    });
    const created = await store.create(room, hold ? snapshot : null);
    if (!hold || !created) return created;
    // A room nobody starts ends by itself: its deadline runs from now, wherever it goes.
    scheduler.arm(room.roomCode, nextDeadline(snapshot.context));
    // Nobody knows the code yet, so no command came first, and the stores hold nothing else about
    // the room: its actor starts from the room as created, with no loading.
    if (!actors.has(room.roomCode)) {
      const actor = newActor(snapshot, true);
      actors.set(room.roomCode, actor);
      const timer = setTimeout(() => {
        holds.delete(timer);
        unloadIfIdle(room.roomCode, actor);
      }, newRoomHoldMs);
      timer.unref();
      holds.add(timer);
    }
    return true;
  }

  /** Rooms with nothing live (ended, or pending with an empty lobby) leave memory once idle. */
  function unloadIfIdle(roomCode: string, actor: Actor) {
    if (actor.draining || actors.get(roomCode) !== actor) return;
    const snapshot = actor.snapshot;
    const status = snapshot ? statusOf(snapshot) : undefined;
    if (snapshot && status === 'active') return;
    if (snapshot && status === 'pending' && Object.keys(snapshot.context.lobby).length > 0) return;
    actors.delete(roomCode);
    if (status === 'ended') scheduler.arm(roomCode, null);
    deps.onUnload(roomCode, actor.unused);
  }

  function run(roomCode: string, command: RoomCommand) {
    let actor = actors.get(roomCode);
    if (!actor) {
      actor = newActor(undefined, false);
      actors.set(roomCode, actor);
    }
    const current = actor;
    current.unused = false;
    return new Promise((resolve, reject) => {
      current.mailbox.push({ command, resolve, reject });
      current.draining ??= drain(roomCode, current);
    });
  }

  const refresher = setInterval(() => {
    const live = [...actors].filter(([, actor]) => actor.snapshot && statusOf(actor.snapshot) !== 'ended').map(([code]) => code);
    if (live.length > 0) store.refresh(live).catch((error: unknown) => logger.warn({ err: error }, 'live state refresh failed'));
  }, deps.refreshEveryMs);
  refresher.unref();

  return {
    create,
    run: run as RoomRuntime['run'],
    unloadAll() {
      scheduler.clear();
      retained.clear();
      for (const [roomCode, actor] of actors) {
        actor.snapshot = undefined;
        unloadIfIdle(roomCode, actor);
      }
    },
    suspend() {
      scheduler.clear();
      for (const [roomCode, actor] of actors) {
        if (actor.snapshot) retained.keep(roomCode, actor.snapshot);
        actor.snapshot = undefined;
        unloadIfIdle(roomCode, actor);
      }
    },
    retainedRooms: () => retained.rooms(),
    retains: (roomCode) => retained.has(roomCode),
    connections() {
      const held: HeldConnection[] = [];
      for (const [roomCode, actor] of actors) {
        for (const [userId, { sockets }] of Object.entries(actor.snapshot?.context.presence ?? {})) {
          for (const connectionId of sockets) held.push({ roomCode, userId, connectionId });
        }
      }
      return held;
    },
    async close() {
      closed = true;
      clearInterval(refresher);
      for (const timer of holds) clearTimeout(timer);
      holds.clear();
      scheduler.clear();
      await Promise.allSettled([...actors.values()].map((actor) => actor.draining));
      // The commands waited for arm their rooms' next deadlines as they finish.
      scheduler.clear();
    },
  };
}
