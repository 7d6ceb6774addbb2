import { accountGone } from '../../src/auth/accounts';
import { StaleOwnerError } from '../../src/live-state/fencing';
import type { NewRoom, OutboxRows, RoomRepository, StoredRoom } from '../../src/rooms/room-repository';
import type { RoomStatus } from '../../src/rooms/machine-runner';
import type { DurableChange, LeaveReason, Role } from '../../src/rooms/room.types';

/**
 * A TEST DOUBLE of the PostgreSQL room repository (src/rooms/room-repository.ts), for the fast
 * unit tests of the room runtime: the same answers for the same writes, kept in a map. It folds the
 * durable changes the way the SQL does (an open attendance per user, `removed` from attendances
 * closed with that reason, nothing about an ended room's people), and fences with epochs like the
 * real one: a load records its epoch unless a later one did, a fenced write with an older epoch
 * throws StaleOwnerError and writes nothing. Display names come from `displayNameOf` (the users
 * table there). It is no substitute for the real store's own tests (test/integration/).
 *
 * Each call yields to the event loop's microtasks before it acts, so commands that were not run
 * one after another would interleave here. `failNext` makes the next call of one kind throw with
 * nothing written; `blockWrites` holds a room's writes until released.
 */
export interface MemoryRoomRepository extends RoomRepository {
  /** What a load would answer now, without fencing or counting: the test's view of "PostgreSQL". */
  peek(roomCode: string): StoredRoom | null;
  /** The epoch the room is fenced with (0: never fenced). */
  epochOf(roomCode: string): number | undefined;
  /** The next call of this kind throws `error`, writing nothing. */
  failNext(kind: 'create' | 'load' | 'apply', error?: Error): void;
  /** Holds the room's writes (apply) until the returned function is called. */
  blockWrites(roomCode: string): () => void;
  /** The user's account is gone: a write opening an attendance for them is refused as PostgreSQL's foreign key refuses it (401), writing nothing. */
  deleteAccount(userId: string): void;
  /** Outbox statements written with committed rooms and commands, in order. */
  readonly outbox: unknown[];
  readonly calls: { create: number; load: number; apply: number };
  /** Writes that changed something (applies with at least one change), and how many ran at once at most. */
  readonly writes: { committed: number; maxConcurrent: number };
}

interface AttendanceRow {
  userId: string;
  role: Role;
  joinedAt: number;
  leftAt: number | null;
  leftReason: LeaveReason | 'ended' | null;
}

interface RoomRow {
  room: NewRoom;
  status: RoomStatus;
  startedAt: number | null;
  endedAt: number | null;
  ownerEpoch: number;
  attendance: AttendanceRow[];
}

/** A simulated round trip: a few microtasks, enough for unserialized callers to interleave. */
async function roundTrip(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
}

export function createMemoryRoomRepository(options: { displayNameOf?: (userId: string) => string } = {}): MemoryRoomRepository {
  const displayNameOf = options.displayNameOf ?? ((userId: string) => userId);
  const rows = new Map<string, RoomRow>();
  const failures = new Map<'create' | 'load' | 'apply', Error>();
  const deletedAccounts = new Set<string>();
  const blocked = new Map<string, Promise<void>>();
  const outbox: unknown[] = [];
  const calls = { create: 0, load: 0, apply: 0 };
  const writes = { committed: 0, maxConcurrent: 0 };
  let writing = 0;

  const failIfAsked = (kind: 'create' | 'load' | 'apply') => {
    const error = failures.get(kind);
    failures.delete(kind);
    if (error) throw error;
  };
  const writeOutbox = (rowsOf: OutboxRows | null | undefined) => {
    if (rowsOf) outbox.push(...rowsOf({ sql: '', params: [] }));
  };

  const storedOf = (row: RoomRow): StoredRoom => {
    // Like the SQL: an ended room has no open attendance and no bans that matter.
    const live = row.status === 'ended' ? [] : row.attendance;
    const ordered = [...live].sort((a, b) => a.joinedAt - b.joinedAt || (a.userId < b.userId ? -1 : 1));
    return {
      id: row.room.id,
      roomCode: row.room.roomCode,
      hostId: row.room.hostId,
      name: row.room.name,
      status: row.status,
      createdAt: row.room.createdAt,
      startedAt: row.startedAt,
      endedAt: row.endedAt,
      schedule: { ...row.room.schedule },
      settings: structuredClone(row.room.settings),
      attendance: ordered
        .filter((a) => a.leftAt === null)
        .map((a) => ({ userId: a.userId, displayName: displayNameOf(a.userId), role: a.role, joinedAt: a.joinedAt })),
      removed: [...new Set(ordered.filter((a) => a.leftReason === 'removed').map((a) => a.userId))],
    };
  };

  const fold = (row: RoomRow, change: DurableChange) => {
    const open = (userId: string) => row.attendance.find((a) => a.userId === userId && a.leftAt === null);
    switch (change.kind) {
      case 'roomStarted':
        if (row.status === 'pending') Object.assign(row, { status: 'active', startedAt: change.at });
        return;
      case 'roomEnded':
        if (row.status !== 'ended') Object.assign(row, { status: 'ended', endedAt: change.at });
        for (const a of row.attendance) if (a.leftAt === null) Object.assign(a, { leftAt: change.at, leftReason: 'ended' });
        return;
      case 'settingsChanged':
        row.room = { ...row.room, settings: structuredClone(change.settings) };
        return;
      case 'scheduleChanged':
        row.room = { ...row.room, schedule: { ...change.schedule } };
        return;
      case 'attendanceOpened':
        if (!open(change.userId)) row.attendance.push({ userId: change.userId, role: change.role, joinedAt: change.at, leftAt: null, leftReason: null });
        return;
      case 'attendanceClosed': {
        const a = open(change.userId);
        if (a) Object.assign(a, { leftAt: change.at, leftReason: change.reason });
        return;
      }
    }
  };

  return {
    outbox,
    calls,
    writes,

    async create(room, epoch, rowsOf) {
      calls.create += 1;
      await roundTrip();
      failIfAsked('create');
      if (rows.has(room.roomCode)) return false;
      rows.set(room.roomCode, { room: structuredClone(room), status: 'pending', startedAt: null, endedAt: null, ownerEpoch: epoch ?? 0, attendance: [] });
      writeOutbox(rowsOf);
      return true;
    },

    async load(roomCode, epoch) {
      calls.load += 1;
      await roundTrip();
      failIfAsked('load');
      const row = rows.get(roomCode);
      if (!row) return null;
      if (epoch !== undefined) {
        if (row.ownerEpoch > epoch) throw new StaleOwnerError(roomCode, `PostgreSQL has the later epoch ${row.ownerEpoch}`);
        row.ownerEpoch = epoch;
      }
      return storedOf(row);
    },

    async apply(room, changes, epoch, rowsOf) {
      calls.apply += 1;
      writing += 1;
      writes.maxConcurrent = Math.max(writes.maxConcurrent, writing);
      try {
        await roundTrip();
        await blocked.get(room.roomCode);
        failIfAsked('apply');
        const row = rows.get(room.roomCode);
        if (changes.length === 0 && !rowsOf) return;
        if (row && epoch !== undefined && row.ownerEpoch !== epoch) {
          throw new StaleOwnerError(room.roomCode, `PostgreSQL has epoch ${row.ownerEpoch}, this node ${epoch}`);
        }
        if (!row) return;
        if (changes.some((change) => change.kind === 'attendanceOpened' && deletedAccounts.has(change.userId))) throw accountGone();
        for (const change of changes) fold(row, change);
        writeOutbox(rowsOf);
        if (changes.length > 0) writes.committed += 1;
      } finally {
        writing -= 1;
      }
    },

    peek(roomCode) {
      const row = rows.get(roomCode);
      return row ? storedOf(row) : null;
    },
    epochOf: (roomCode) => rows.get(roomCode)?.ownerEpoch,
    failNext(kind, error = new Error('Connection terminated unexpectedly')) {
      failures.set(kind, error);
    },
    deleteAccount: (userId) => void deletedAccounts.add(userId),
    blockWrites(roomCode) {
      let release!: () => void;
      blocked.set(
        roomCode,
        new Promise<void>((resolve) => {
          release = resolve;
        }),
      );
      return () => {
        blocked.delete(roomCode);
        release();
      };
    },
  };
}
