import { EntitySchema } from '@mikro-orm/core';
import { User } from '../auth/user.entity';
import { Room } from '../rooms/room.entity';

/** What became of an invitation; `expired` is not stored: a pending one past `expires_at` is expired. */
export type StoredInvitationStatus = 'pending' | 'accepted' | 'revoked';
const statuses: readonly StoredInvitationStatus[] = ['pending', 'accepted', 'revoked'];

/**
 * One person invited to one room (docs/api.md "Invitations"). The link's token is never stored:
 * only its SHA-256 (`tokenHash`), which is what a join looks up. The first account that joins
 * with the token is `acceptedBy`, and the token is then good for that account only. The service
 * writes rows with plain SQL (invitations.service.ts); the entity is here for the schema.
 */
export class Invitation {
  readonly id!: string;
  readonly room!: Room;
  /** Normalised as account emails are (trimmed, lower-case). */
  readonly email!: string;
  readonly displayName!: string | null;
  readonly tokenHash!: Buffer;
  status!: StoredInvitationStatus;
  readonly invitedBy!: User | null;
  readonly createdAt!: Date;
  readonly expiresAt!: Date;
  acceptedBy!: User | null;
  acceptedAt!: Date | null;
  revokedAt!: Date | null;
}

export const InvitationSchema = new EntitySchema<Invitation>({
  class: Invitation,
  tableName: 'invitations',
  properties: {
    id: { type: 'uuid', primary: true },
    room: { kind: 'm:1', entity: () => Room, fieldName: 'room_id', deleteRule: 'cascade' },
    email: { type: 'text' },
    displayName: { type: 'text', nullable: true },
    tokenHash: { type: 'bytea', unique: 'invitations_token_hash_unique' },
    status: { enum: true, items: () => [...statuses], type: 'text', default: 'pending' },
    invitedBy: { kind: 'm:1', entity: () => User, fieldName: 'invited_by', nullable: true, deleteRule: 'set null' },
    createdAt: { type: 'datetime' },
    expiresAt: { type: 'datetime' },
    acceptedBy: { kind: 'm:1', entity: () => User, fieldName: 'accepted_by', nullable: true, deleteRule: 'set null' },
    acceptedAt: { type: 'datetime', nullable: true },
    revokedAt: { type: 'datetime', nullable: true },
  },
  indexes: [
    // A room's invitations, in the order they were made.
    { name: 'invitations_room_idx', properties: ['room', 'createdAt'] },
    // Upcoming meetings: the ones a user was invited to, by address (not yet accepted) or by account.
    { name: 'invitations_email_idx', expression: `create index "invitations_email_idx" on "invitations" ("email") where "status" = 'pending'` },
    { name: 'invitations_accepted_by_idx', properties: ['acceptedBy'] },
  ],
});
