import type { QueryResult } from 'pg';
import { accountGone } from '../auth/accounts';
import { StaleOwnerError } from '../live-state/fencing';
import type { Orm } from '../persistence/orm';
import { createSql, type NamedStatement, type SqlStatement } from '../persistence/sql';
import type { DurableChange, Role, RoomSettings } from './room.types';
import type { Schedule } from './schedule';
import { settingsInOrder } from './step-helpers';
import type { RoomStatus } from './machine-runner';

/**
 * A condition appended to a statement's WHERE: the one every write of the command carries (the
 * owner's epoch in a cluster), so an outbox row is written exactly when the command's writes are.
 */
export interface WriteCondition {
  sql: string;
  params: readonly unknown[];
}

/** Rows to insert in a command's own transaction, under its condition (room-outbox.ts: the webhooks'). */
export type OutboxRows = (condition: WriteCondition) => SqlStatement[];

/** A room as PostgreSQL holds it: the row, its open attendances and its bans. */
export interface StoredRoom {
  id: string;
  roomCode: string;
  hostId: string;
  name: string;
  status: RoomStatus;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  schedule: Schedule;
  settings: RoomSettings;
  /** Open attendances (left_at is null), oldest first. */
  attendance: { userId: string; displayName: string; role: Role; joinedAt: number }[];
  /** Users the host removed: they may not join again. */
  removed: string[];
}

/** A room about to be created: pending, nobody in it yet. */
export interface NewRoom {
  id: string;
  roomCode: string;
  hostId: string;
  name: string;
  settings: RoomSettings;
  schedule: Schedule;
  createdAt: number;
}

/**
 * The durable side of the room actor: creates rooms, loads a room for activation and writes a
 * command's changes, each in one round trip to PostgreSQL.
 * In a cluster both take the owner's epoch (live-state/fencing.ts): loading records it in
 * `rooms.owner_epoch` unless a later claim already did, and every write checks it under the
 * room row's lock, so once a new owner has loaded the room, the old one cannot write to it.
 * Either throws StaleOwnerError when its epoch is not the latest. Outbox rows given with a write
 * (room-outbox.ts: the webhooks') go into the same transaction, under the same condition.
 */
export interface RoomRepository {
  /**
   * Inserts the room; false (and nothing written) when its code is taken. With an epoch, the
   * room starts out fenced with it, as if that claim had loaded it.
   */
  create(room: NewRoom, epoch?: number, outbox?: OutboxRows | null): Promise<boolean>;
  load(roomCode: string, epoch?: number): Promise<StoredRoom | null>;
  /** Writes one command's changes in one transaction. Every statement is idempotent, so a retried command converges. */
  apply(room: { id: string; roomCode: string }, changes: readonly DurableChange[], epoch?: number, outbox?: OutboxRows | null): Promise<void>;
}

interface RoomRow {
  id: string;
  room_code: string;
  host_id: string;
  name: string;
  status: RoomStatus;
  created_at: Date | string;
  started_at: Date | string | null;
  ended_at: Date | string | null;
  scheduled_start_at: Date | string | null;
  scheduled_end_at: Date | string | null;
  settings: RoomSettings;
  owner_epoch: string;
}

interface AttendanceRow {
  user_id: string;
  display_name: string;
  role: Role;
  joined_at: Date | string;
  left_at: Date | string | null;
}

/** The ORM's pg driver returns timestamptz as text (`2026-11-24 10:30:21.149+00`); V8 parses it exactly. */
export const epochMs = (value: Date | string) => new Date(value).getTime();
const epochMsOrNull = (value: Date | string | null) => (value === null ? null : epochMs(value));
const dateOrNull = (ms: number | null) => (ms === null ? null : new Date(ms));

const insertRoom: NamedStatement = {
  name: 'rooms.insert',
  text: `insert into rooms (id, room_code, host_id, name, status, created_at, settings, owner_epoch, scheduled_start_at, scheduled_end_at)
         values ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9)
         on conflict (room_code) do nothing`,
};

// Each takes the room code.
const selectRoom = `select id, room_code, host_id, name, status, created_at, started_at, ended_at, scheduled_start_at, scheduled_end_at, settings, owner_epoch
   from rooms where room_code = ?`;
// An ended room has no open attendance, and nobody can join it: bans no longer matter.
const selectAttendance = `select p.user_id, u.display_name, p.role, p.joined_at, p.left_at
   from rooms r join participants p on p.room_id = r.id join users u on u.id = p.user_id
  where r.room_code = ? and r.status <> 'ended' and (p.left_at is null or p.left_reason = 'removed')
  order by p.joined_at, p.user_id`;

const foreignKeyViolation = '23503';

/** A row naming a user whose account was deleted after the request's account check (docs/api.md "Auth"): 401, nothing written. */
const refuseDeletedAccount = (error: unknown): never => {
  throw (error as { code?: unknown }).code === foreignKeyViolation ? accountGone() : error;
};

export function createRoomRepository(orm: Orm): RoomRepository {
  const sql = createSql(orm);
  /** The outbox rows, written only if `condition` holds when the statement runs. */
  const rowsOf = (outbox: OutboxRows | null | undefined, condition: WriteCondition): SqlStatement[] => (outbox ? outbox(condition) : []);
  return {
    async create(room, epoch, outbox) {
      const { startAt, endAt } = room.schedule;
      const params = [
        room.id,
        room.roomCode,
        room.hostId,
        room.name,
        new Date(room.createdAt),
        JSON.stringify(room.settings),
        epoch ?? 0,
        dateOrNull(startAt),
        dateOrNull(endAt),
      ];
      try {
        const rows = rowsOf(outbox, { sql: ' and exists (select 1 from rooms r where r.id = ?)', params: [room.id] });
        if (rows.length === 0) return (await sql.query(insertRoom, params)).rowCount === 1;
        // The rows only if this room was inserted (not when its code was taken), in one transaction.
        const [inserted] = await sql.batch([[insertRoom.text.replace(/\$\d+/g, '?'), params], ...rows]);
        return inserted!.rowCount === 1;
      } catch (error) {
        // The host's account was deleted after the request's account check.
        return refuseDeletedAccount(error);
      }
    },

    async load(roomCode, epoch) {
      // One message: the fence (if any), then the room and its attendance. The fence waits for the
      // previous owner's write in flight (it holds the row lock) and shuts it out; the reads after
      // it take their own snapshots, so they see that write.
      const fence: SqlStatement[] =
        epoch === undefined ? [] : [['update rooms set owner_epoch = ? where room_code = ? and owner_epoch <= ?', [epoch, roomCode, epoch]]];
      const results = await sql.batch([...fence, [selectRoom, [roomCode]], [selectAttendance, [roomCode]]]);
      const [roomResult, attendanceResult] = results.slice(fence.length) as [QueryResult<RoomRow>, QueryResult<AttendanceRow>];
      const room = roomResult.rows[0];
      if (!room) return null;
      // The fence did not move: a later claim holds the room.
      if (epoch !== undefined && results[0]!.rowCount === 0) throw new StaleOwnerError(roomCode, `PostgreSQL has the later epoch ${room.owner_epoch}`);
      const rows = attendanceResult.rows;
      return {
        id: room.id,
        roomCode: room.room_code,
        hostId: room.host_id,
        name: room.name,
        status: room.status,
        createdAt: epochMs(room.created_at),
        startedAt: epochMsOrNull(room.started_at),
        endedAt: epochMsOrNull(room.ended_at),
        schedule: { startAt: epochMsOrNull(room.scheduled_start_at), endAt: epochMsOrNull(room.scheduled_end_at) },
        // jsonb keeps its own key order; answer in the contract's.
        settings: settingsInOrder(room.settings),
        attendance: rows
          .filter((row) => row.left_at === null)
          .map((row) => ({ userId: row.user_id, displayName: row.display_name, role: row.role, joinedAt: epochMs(row.joined_at) })),
        removed: [...new Set(rows.filter((row) => row.left_at !== null).map((row) => row.user_id))],
      };
    },

    async apply(room, changes, epoch, outbox) {
      if (epoch === undefined) {
        // One message is one transaction: atomic however many statements.
        const statements = [...changes.flatMap((change) => toSql(room.id, change, noFence)), ...rowsOf(outbox, noFence)];
        if (statements.length > 0) await sql.batch(statements).catch(refuseDeletedAccount);
        return;
      }
      // The room row's lock first, and every write guarded by the epoch: the lock keeps the epoch
      // from changing until the message's transaction ends, so either every write happens or,
      // when a later claim loaded the room, none does.
      const guard: EpochGuard = { sql: ' and exists (select 1 from rooms f where f.id = ? and f.owner_epoch = ?)', params: [room.id, epoch] };
      const statements = [...changes.flatMap((change) => toSql(room.id, change, guard)), ...rowsOf(outbox, guard)];
      if (statements.length === 0) return;
      const [lock] = await sql.batch([['select owner_epoch from rooms where id = ? for update', [room.id]], ...statements]).catch(refuseDeletedAccount);
      const row = (lock as QueryResult<{ owner_epoch: string }>).rows[0];
      if (row && Number(row.owner_epoch) !== epoch) throw new StaleOwnerError(room.roomCode, `PostgreSQL has epoch ${row.owner_epoch}, this node ${epoch}`);
    },
  };
}

/** A condition every write of a fenced command carries: the room still has this owner's epoch. */
type EpochGuard = WriteCondition;
const noFence: EpochGuard = { sql: '', params: [] };

function toSql(roomId: string, change: DurableChange, guard: EpochGuard): SqlStatement[] {
  switch (change.kind) {
    case 'roomStarted':
      return [
        [`update rooms set status = 'active', started_at = ? where id = ? and status = 'pending'${guard.sql}`, [new Date(change.at), roomId, ...guard.params]],
      ];
    case 'roomEnded':
      return [
        [`update rooms set status = 'ended', ended_at = ? where id = ? and status <> 'ended'${guard.sql}`, [new Date(change.at), roomId, ...guard.params]],
        [
          `update participants set left_at = ?, left_reason = 'ended' where room_id = ? and left_at is null${guard.sql}`,
          [new Date(change.at), roomId, ...guard.params],
        ],
      ];
    case 'settingsChanged':
      return [[`update rooms set settings = ?::jsonb where id = ?${guard.sql}`, [JSON.stringify(change.settings), roomId, ...guard.params]]];
    case 'scheduleChanged':
      return [
        [
          `update rooms set scheduled_start_at = ?, scheduled_end_at = ? where id = ?${guard.sql}`,
          [dateOrNull(change.schedule.startAt), dateOrNull(change.schedule.endAt), roomId, ...guard.params],
        ],
      ];
    case 'attendanceOpened':
      // The partial unique index makes a repeated insert of an open attendance a no-op.
      return [
        [
          `insert into participants (id, room_id, user_id, role, joined_at)
           select gen_random_uuid(), ?::uuid, ?::uuid, ?, ?::timestamptz where true${guard.sql}
           on conflict (room_id, user_id) where left_at is null do nothing`,
          [roomId, change.userId, change.role, new Date(change.at), ...guard.params],
        ],
      ];
    case 'attendanceClosed':
      return [
        [
          `update participants set left_at = ?, left_reason = ? where room_id = ? and user_id = ? and left_at is null${guard.sql}`,
          [new Date(change.at), change.reason, roomId, change.userId, ...guard.params],
        ],
      ];
  }
}
