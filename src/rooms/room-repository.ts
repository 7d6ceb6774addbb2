import type { EntityManager } from '@mikro-orm/postgresql';
import { StaleOwnerError } from '../cluster/fencing';
import type { Orm } from '../persistence/orm';
import type { DurableChange, Role, RoomSettings } from './room.machine';
import type { RoomStatus } from './room-step';

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
  settings: RoomSettings;
  /** Open attendances (left_at is null), oldest first. */
  attendance: { userId: string; displayName: string; role: Role; joinedAt: number }[];
  /** Users the host removed: they may not join again. */
  removed: string[];
}

/**
 * The durable side of the room actor: loads a room for activation and writes a command's changes.
 * In a cluster both take the owner's epoch (cluster/fencing.ts): loading records it in
 * `rooms.owner_epoch` unless a later claim already did, and every write checks it under the
 * room row's lock, so once a new owner has loaded the room, the old one cannot write to it.
 * Either throws StaleOwnerError when its epoch is not the latest.
 */
export interface RoomRepository {
  load(roomCode: string, epoch?: number): Promise<StoredRoom | null>;
  /** Writes one command's changes in one transaction. Every statement is idempotent, so a retried command converges. */
  apply(room: { id: string; roomCode: string }, changes: readonly DurableChange[], epoch?: number): Promise<void>;
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
  settings: RoomSettings;
}

interface AttendanceRow {
  user_id: string;
  display_name: string;
  role: Role;
  joined_at: Date | string;
  left_at: Date | string | null;
}

/** MikroORM's driver returns timestamptz as text (`2026-11-24 10:30:21.149+00`); V8 parses it exactly. */
export const epochMs = (value: Date | string) => new Date(value).getTime();
const epochMsOrNull = (value: Date | string | null) => (value === null ? null : epochMs(value));

/** Each call forks its own entity manager (the actor runs outside any request context). */
export function createRoomRepository(orm: Orm): RoomRepository {
  return {
    async load(roomCode, epoch) {
      const em = orm.em.fork();
      if (epoch !== undefined) {
        // Waits for the previous owner's write in flight (it holds the row lock), then shuts it out.
        const fenced = await em.execute('update rooms set owner_epoch = ? where room_code = ? and owner_epoch <= ?', [epoch, roomCode, epoch], 'run');
        if ((fenced as { affectedRows?: number }).affectedRows === 0) await refuseUnlessMissing(em, roomCode);
      }
      const [room] = await em.execute<RoomRow[]>(
        'select id, room_code, host_id, name, status, created_at, started_at, ended_at, settings from rooms where room_code = ?',
        [roomCode],
      );
      if (!room) return null;
      // An ended room has no open attendance, and nobody can join it: bans no longer matter.
      const rows =
        room.status === 'ended'
          ? []
          : await em.execute<AttendanceRow[]>(
              `select p.user_id, u.display_name, p.role, p.joined_at, p.left_at
                 from participants p join users u on u.id = p.user_id
                where p.room_id = ? and (p.left_at is null or p.left_reason = 'removed')
                order by p.joined_at, p.user_id`,
              [room.id],
            );
      return {
        id: room.id,
        roomCode: room.room_code,
        hostId: room.host_id,
        name: room.name,
        status: room.status,
        createdAt: epochMs(room.created_at),
        startedAt: epochMsOrNull(room.started_at),
        endedAt: epochMsOrNull(room.ended_at),
        // jsonb keeps its own key order; answer in the contract's.
        settings: { lock_room: room.settings.lock_room, enable_transcription: room.settings.enable_transcription, max_participants: room.settings.max_participants },
        attendance: rows
          .filter((row) => row.left_at === null)
          .map((row) => ({ userId: row.user_id, displayName: row.display_name, role: row.role, joinedAt: epochMs(row.joined_at) })),
        removed: [...new Set(rows.filter((row) => row.left_at !== null).map((row) => row.user_id))],
      };
    },

    async apply(room, changes, epoch) {
      const statements = changes.flatMap((change) => toSql(room.id, change));
      if (statements.length === 0) return;
      const run = (em: EntityManager) => statements.reduce((done, [sql, params]) => done.then(() => em.execute(sql, params, 'run')), Promise.resolve() as Promise<unknown>);
      const em = orm.em.fork();
      if (epoch !== undefined) {
        await em.transactional(async (tx) => {
          const [row] = await tx.execute<{ owner_epoch: string }[]>('select owner_epoch from rooms where id = ? for update', [room.id]);
          if (row && Number(row.owner_epoch) !== epoch) throw new StaleOwnerError(room.roomCode, `PostgreSQL has epoch ${row.owner_epoch}, this node ${epoch}`);
          await run(tx);
        });
        return;
      }
      // One statement is atomic by itself; more share a transaction.
      if (statements.length === 1) await run(em);
      else await em.transactional((tx) => run(tx));
    },
  };
}

/** The fence did not move: either the room does not exist (load answers null) or a later claim holds it. */
async function refuseUnlessMissing(em: EntityManager, roomCode: string): Promise<void> {
  const [row] = await em.execute<{ owner_epoch: string }[]>('select owner_epoch from rooms where room_code = ?', [roomCode]);
  if (row) throw new StaleOwnerError(roomCode, `PostgreSQL has the later epoch ${row.owner_epoch}`);
}

type Statement = [sql: string, params: unknown[]];

function toSql(roomId: string, change: DurableChange): Statement[] {
  switch (change.kind) {
    case 'roomStarted':
      return [["update rooms set status = 'active', started_at = ? where id = ? and status = 'pending'", [new Date(change.at), roomId]]];
    case 'roomEnded':
      return [
        ["update rooms set status = 'ended', ended_at = ? where id = ? and status <> 'ended'", [new Date(change.at), roomId]],
        ["update participants set left_at = ?, left_reason = 'ended' where room_id = ? and left_at is null", [new Date(change.at), roomId]],
      ];
    case 'settingsChanged':
      return [['update rooms set settings = ?::jsonb where id = ?', [JSON.stringify(change.settings), roomId]]];
    case 'attendanceOpened':
      // The partial unique index makes a repeated insert of an open attendance a no-op.
      return [
        [
          `insert into participants (id, room_id, user_id, role, joined_at) values (gen_random_uuid(), ?, ?, ?, ?)
           on conflict (room_id, user_id) where left_at is null do nothing`,
          [roomId, change.userId, change.role, new Date(change.at)],
        ],
      ];
    case 'attendanceClosed':
      return [
        [
          'update participants set left_at = ?, left_reason = ? where room_id = ? and user_id = ? and left_at is null',
          [new Date(change.at), change.reason, roomId, change.userId],
        ],
      ];
  }
}
