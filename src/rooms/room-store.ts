import type { Logger } from 'pino';
import { AppError } from '../errors/app-error';
import type { RoomFence } from '../live-state/fencing';
import { emptyLiveState, type LiveStateStore } from '../live-state/live-state';
import { restoreRoomSnapshot, statusOf, type RoomSnapshot } from './machine-runner';
import type { RoomOutbox, RoomOutcome } from './room-outbox';
import { contextFromStores, fullLiveChange, isEmptyLiveState, liveChange, liveStateDrift, liveStateOf, namedDeadlines } from './room-projection';
import type { NewRoom, RoomRepository } from './room-repository';
import type { RoomTimings } from './room.types';

/**
 * Where a room lives outside a node's memory, as the room runtime sees it: PostgreSQL (with the
 * outbox rows whoever listens adds, room-outbox.ts) and the live state, every write carrying the
 * fence. The runtime decides when to load and commit; this decides how.
 */
export interface RoomStore {
  /**
   * Writes a new room; false, with nothing written, when its code is taken. `held`: the room as
   * this node starts holding it (fenced with its claim), whose first deadline (a room nobody
   * starts ends by itself) goes in the cluster's index, so that it is run even if this node goes;
   * loaded, the room knows the deadline from its creation time.
   */
  create(room: NewRoom, held: RoomSnapshot | null): Promise<boolean>;
  /**
   * The room as the stores hold it; ROOM_NOT_FOUND when PostgreSQL has no such room. `kept`: the
   * room's snapshot this node set aside (room-runtime.ts); when the live state turns out empty
   * while the room was not, that snapshot's live state is written back (PostgreSQL still
   * deciding who is in), instead of reading the loss as everyone gone.
   */
  load(roomCode: string, kept?: RoomSnapshot): Promise<RoomSnapshot>;
  /**
   * The effects of accepted commands of one room, in order (at least one): PostgreSQL (with their
   * outbox rows) in one transaction first, then the live state in one write. Throws
   * LiveStateNotWritten when PostgreSQL took the change and the live state did not.
   */
  commit(outcomes: readonly RoomOutcome[]): Promise<void>;
  /** Keeps these rooms' live state from expiring. */
  refresh(roomCodes: string[]): Promise<void>;
}

/** PostgreSQL has a commit's change and the live state does not: the snapshot after it is what Redis should have. */
export class LiveStateNotWritten extends Error {
  constructor(
    readonly after: RoomSnapshot,
    cause: unknown,
  ) {
    super(`the live state of room ${after.context.roomCode} was not written: ${String(cause)}`, { cause });
  }
}

export interface RoomStoreDeps {
  repository: RoomRepository;
  liveState: LiveStateStore;
  /** What PostgreSQL writes carry: nothing on one node, this node's claim in a cluster. */
  fence: RoomFence;
  /** What else each commit writes in its transaction (the webhook outbox), and who hears it committed. */
  outbox: RoomOutbox;
  timings: RoomTimings;
  logger: Logger;
  now: () => number;
}

export function createRoomStore(deps: RoomStoreDeps): RoomStore {
  const { repository, liveState, fence, outbox, logger, now } = deps;
  return {
    async create(room, held) {
      const rows = outbox.ofCreated(room);
      const created = await repository.create(room, held ? fence.epochOf(room.roomCode) : undefined, rows);
      if (created && rows) outbox.committed(room.roomCode);
      // A new room's first deadline (a room nobody starts ends by itself) goes in at once, for
      // any node to run should this one go. The room exists once PostgreSQL has it: a deadline
      // that failed here is written by the room's next load.
      if (created && held) {
        for (const [name, at] of Object.entries(namedDeadlines(held.context))) {
          await liveState
            .schedule(room.roomCode, name, at)
            .catch((error: unknown) => logger.warn({ err: error, room_code: room.roomCode }, "could not write a new room's deadline"));
        }
      }
      return created;
    },

    async load(roomCode, kept) {
      const stored = await repository.load(roomCode, fence.epochOf(roomCode));
      if (!stored) throw new AppError('ROOM_NOT_FOUND');
      let live = stored.status === 'ended' ? emptyLiveState() : await liveState.read(roomCode);
      // Writes give a TTL only to the keys they write: the room's other keys get a full one now,
      // however long the room lay idle, and then at each refresh while it runs here.
      if (!isEmptyLiveState(live)) await liveState.refresh([roomCode]);
      const restoring = kept !== undefined && stored.status !== 'ended' && isEmptyLiveState(live);
      if (restoring) live = liveStateOf(kept.context);
      const context = contextFromStores(stored, live, deps.timings, now());
      if (restoring) {
        const change = fullLiveChange(context);
        if (change) await liveState.apply(roomCode, change);
        logger.info({ room_code: roomCode, participants: Object.keys(context.participants).length }, 'restored the live state Redis lost');
      } else if (stored.status !== 'ended') {
        // A live-state write that failed after PostgreSQL took its change left the two apart (a
        // guest who left still listed, say): the room as rebuilt is what goes in.
        const drift = liveStateDrift(live, liveStateOf(context));
        if (drift) {
          await liveState.apply(roomCode, drift);
          logger.info({ room_code: roomCode }, 'put the live state right where it disagreed with PostgreSQL');
        }
      }
      return restoreRoomSnapshot(stored.status, context, stored.settings.lock_room);
    },

    async commit(outcomes) {
      const before = outcomes[0]!.before;
      const after = outcomes.at(-1)!.after;
      const roomCode = before.roomCode;
      const rows = outbox.ofCommands(outcomes);
      await repository.apply(
        { id: before.roomId, roomCode },
        outcomes.flatMap((outcome) => outcome.changes),
        fence.epochOf(roomCode),
        rows,
      );
      if (rows) outbox.committed(roomCode);
      try {
        if (statusOf(after) === 'ended') return await liveState.delete(roomCode);
        const change = liveChange(before, after.context);
        if (change) await liveState.apply(roomCode, change);
      } catch (error) {
        throw new LiveStateNotWritten(after, error);
      }
    },

    refresh: (roomCodes) => liveState.refresh(roomCodes),
  };
}
