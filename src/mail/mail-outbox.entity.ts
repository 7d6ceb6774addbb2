import { BigIntType, EntitySchema } from '@mikro-orm/core';
import { Invitation } from '../invitations/invitation.entity';

/** Which email a row sends: the invitation itself, a change of the meeting's schedule, or its cancellation. */
export type MailKind = 'invitation' | 'update' | 'cancel';
export const mailKinds: readonly MailKind[] = ['invitation', 'update', 'cancel'];

/** `failed` covers both giving up after the last attempt and never sending (a revoked or expired invitation). */
export type MailStatus = 'pending' | 'sent' | 'failed';
const statuses: readonly MailStatus[] = ['pending', 'sent', 'failed'];

/**
 * One email to one invitee in the mail outbox (`mail_outbox`, docs/email.md "The outbox"). Rows are
 * inserted with plain SQL in the invitation's own transaction (mail-outbox.ts) and the dispatcher
 * moves them on (mail-dispatcher.ts); the entity is here for the schema.
 */
export class MailOutboxRow {
  /** Insertion order: an invitation's latest email is its highest `seq`. */
  readonly seq!: string;
  readonly id!: string;
  readonly invitation!: Invitation;
  readonly kind!: MailKind;
  /**
   * The invitation's raw token, for kind `invitation` only: the invitations table keeps just its
   * SHA-256, so the email's link can be built from nowhere else. It is erased (set to null) as
   * soon as the row is sent or failed: the token rests in the database only while its email is queued.
   */
  token!: string | null;
  status!: MailStatus;
  attempts!: number;
  nextAttemptAt!: Date;
  /** Set while a node is sending the row; after it, any node may take the row again. */
  leasedUntil!: Date | null;
  lastError!: string | null;
  readonly createdAt!: Date;
  sentAt!: Date | null;
}

export const MailOutboxSchema = new EntitySchema<MailOutboxRow>({
  class: MailOutboxRow,
  tableName: 'mail_outbox',
  properties: {
    seq: { type: new BigIntType('string'), primary: true, autoincrement: true },
    id: { type: 'uuid', unique: true },
    invitation: { kind: 'm:1', entity: () => Invitation, fieldName: 'invitation_id', deleteRule: 'cascade' },
    kind: { enum: true, items: () => [...mailKinds], type: 'text' },
    token: { type: 'text', nullable: true },
    status: { enum: true, items: () => [...statuses], type: 'text', default: 'pending' },
    attempts: { type: 'integer', default: 0 },
    nextAttemptAt: { type: 'datetime', defaultRaw: 'now()' },
    leasedUntil: { type: 'datetime', nullable: true },
    lastError: { type: 'text', nullable: true },
    createdAt: { type: 'datetime' },
    sentAt: { type: 'datetime', nullable: true },
  },
  indexes: [
    // The dispatcher's question: which rows are due.
    { name: 'mail_outbox_due_idx', expression: `create index "mail_outbox_due_idx" on "mail_outbox" ("next_attempt_at") where "status" = 'pending'` },
    // An invitation's emails, latest last (what became of the email a person was sent).
    { name: 'mail_outbox_invitation_idx', properties: ['invitation', 'seq'] },
    // Pruning sent and failed rows.
    { name: 'mail_outbox_status_idx', properties: ['status', 'createdAt'] },
  ],
});
