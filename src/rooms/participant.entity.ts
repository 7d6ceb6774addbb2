import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';
import { User } from '../auth/user.entity';
import { Room } from './room.entity';

export const participantRoles = ['host', 'guest'] as const;
export type ParticipantRole = (typeof participantRoles)[number];

export const leaveReasons = ['left', 'removed', 'disconnected', 'ended'] as const;
/** Why an attendance ended: `removed` also bars the user from the room. */
export type LeaveReason = (typeof leaveReasons)[number];

/** One attendance: a user's stay in a room from join to leave. */
export class Participant {
  readonly id: string = randomUUID();
  readonly room: Room;
  readonly user: User;
  readonly role: ParticipantRole;
  readonly joinedAt: Date;
  leftAt: Date | null = null;
  leftReason: LeaveReason | null = null;

  constructor(init: { room: Room; user: User; role: ParticipantRole; joinedAt?: Date }) {
    this.room = init.room;
    this.user = init.user;
    this.role = init.role;
    this.joinedAt = init.joinedAt ?? new Date();
  }
}

export const ParticipantSchema = new EntitySchema<Participant>({
  class: Participant,
  tableName: 'participants',
  properties: {
    id: { type: 'uuid', primary: true },
    room: { kind: 'm:1', entity: () => Room, fieldName: 'room_id' },
    user: { kind: 'm:1', entity: () => User, fieldName: 'user_id' },
    role: { enum: true, items: () => [...participantRoles], type: 'text' },
    joinedAt: { type: 'datetime' },
    leftAt: { type: 'datetime', nullable: true },
    leftReason: { enum: true, items: () => [...leaveReasons], type: 'text', nullable: true },
  },
  indexes: [
    // At most one open attendance per (room, user): the database, not a check-then-insert, enforces it.
    {
      name: 'participants_open_attendance_unique',
      expression:
        'create unique index "participants_open_attendance_unique" on "participants" ("room_id", "user_id") where "left_at" is null',
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
