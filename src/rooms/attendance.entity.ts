import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';
import { User } from '../auth/user.entity';
import { Room } from './room.entity';
import type { LeaveReason, Role } from './room.types';

const roles: readonly Role[] = ['host', 'guest'];

/** Why an attendance ended: how a participant left (`removed` also bars the user), or the room ended. */
export type LeftReason = LeaveReason | 'ended';
const leftReasons: readonly LeftReason[] = ['left', 'removed', 'disconnected', 'ended'];

/**
 * One attendance: a participant's stay in a room from join to leave (a row of the `participants`
 * table; the room machine's `Participant` is who is in the room now).
 */
export class Attendance {
  readonly id: string = randomUUID();
  readonly room: Room;
  readonly user: User;
  readonly role: Role;
  readonly joinedAt: Date;
  leftAt: Date | null = null;
  leftReason: LeftReason | null = null;

  constructor(init: { room: Room; user: User; role: Role; joinedAt?: Date }) {
    this.room = init.room;
    this.user = init.user;
    this.role = init.role;
    this.joinedAt = init.joinedAt ?? new Date();
  }
}

export const AttendanceSchema = new EntitySchema<Attendance>({
  class: Attendance,
  tableName: 'participants',
  properties: {
    id: { type: 'uuid', primary: true },
    room: { kind: 'm:1', entity: () => Room, fieldName: 'room_id' },
    user: { kind: 'm:1', entity: () => User, fieldName: 'user_id' },
    role: { enum: true, items: () => [...roles], type: 'text' },
    joinedAt: { type: 'datetime' },
    leftAt: { type: 'datetime', nullable: true },
    leftReason: { enum: true, items: () => [...leftReasons], type: 'text', nullable: true },
  },
  indexes: [
    // At most one open attendance per (room, user): the database, not a check-then-insert, enforces it.
    {
      name: 'participants_open_attendance_unique',
      expression: 'create unique index "participants_open_attendance_unique" on "participants" ("room_id", "user_id") where "left_at" is null',
    },
    // History of attended rooms, and attendance counts per room.
    { name: 'participants_user_room_idx', properties: ['user', 'room'] },
    { name: 'participants_room_user_idx', properties: ['room', 'user'] },
    // A room's bans, read when its actor is activated.
    {
      name: 'participants_room_removed_idx',
      expression: `create index "participants_room_removed_idx" on "participants" ("room_id", "user_id") where "left_reason" = 'removed'`,
    },
  ],
});
