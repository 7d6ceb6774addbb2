import { randomUUID } from 'node:crypto';
import { BigIntType, EntitySchema } from '@mikro-orm/core';
import { User } from '../auth/user.entity';
import type { RoomSettings } from './room.types';

export const roomStatuses = ['pending', 'active', 'ended'] as const;
export type RoomStatus = (typeof roomStatuses)[number];

/** A meeting room: its share code, host, lifecycle timestamps and settings. */
export class Room {
  readonly id: string = randomUUID();
  readonly roomCode: string;
  readonly host: User;
  name: string;
  status: RoomStatus = 'pending';
  readonly createdAt: Date = new Date();
  startedAt: Date | null = null;
  endedAt: Date | null = null;
  /** When the host plans to start and end the meeting (docs/api.md "Scheduled meetings"); null: not scheduled. */
  scheduledStartAt: Date | null = null;
  scheduledEndAt: Date | null = null;
  /** Always complete: defaults are merged when the room is created (docs/operations.md "Data model (PostgreSQL)"). */
  settings: RoomSettings;
  /** The epoch of the cluster node that last loaded the room: its writes alone are accepted (live-state/fencing.ts). */
  readonly ownerEpoch: number = 0;

  constructor(init: { roomCode: string; host: User; name: string; settings: RoomSettings }) {
    this.roomCode = init.roomCode;
    this.host = init.host;
    this.name = init.name;
    this.settings = init.settings;
  }
}

export const RoomSchema = new EntitySchema<Room>({
  class: Room,
  tableName: 'rooms',
  properties: {
    id: { type: 'uuid', primary: true },
    roomCode: { type: 'character', length: 12, unique: 'rooms_room_code_unique' },
    host: { kind: 'm:1', entity: () => User, fieldName: 'host_id' },
    name: { type: 'text' },
    status: { enum: true, items: () => [...roomStatuses], type: 'text' },
    createdAt: { type: 'datetime' },
    startedAt: { type: 'datetime', nullable: true },
    endedAt: { type: 'datetime', nullable: true },
    scheduledStartAt: { type: 'datetime', nullable: true },
    scheduledEndAt: { type: 'datetime', nullable: true },
    settings: { type: 'json' },
    ownerEpoch: { type: new BigIntType('number'), default: 0 },
  },
  indexes: [
    // History of hosted rooms: newest ended_at first, keyset-paginated on (ended_at, id).
    { name: 'rooms_host_history_idx', properties: ['host', 'endedAt', 'id'] },
    // Upcoming meetings a user hosts: soonest scheduled start first, keyset-paginated on (scheduled_start_at, id).
    {
      name: 'rooms_host_upcoming_idx',
      expression: `create index "rooms_host_upcoming_idx" on "rooms" ("host_id", "scheduled_start_at", "id") where "scheduled_start_at" is not null and "status" <> 'ended'`,
    },
  ],
});
