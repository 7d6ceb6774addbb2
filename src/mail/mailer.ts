import type { SqlStatement } from '../persistence/sql';
import { invitationEmailsInsert, scheduleEmailsInsert, type InvitationEmailItem, type OutboxCondition } from './mail-outbox';

/**
 * Invitation emails as the invitations service sees them: it adds the statements to its own
 * transaction (so an email is queued exactly when what it announces is committed), then calls
 * `wake()` so that the dispatcher sends at once instead of at its next poll. Null when SMTP_URL
 * is unset: nothing is queued.
 */
export interface Mailer {
  /** One `invitation` email per new invitation, carrying its raw token (docs/email.md "Where the token rests"). */
  invitationEmails(items: readonly InvitationEmailItem[], condition: OutboxCondition): SqlStatement;
  /** One `update` or `cancel` email per standing invitation of the room (accepted, or pending and not expired). */
  scheduleEmails(roomId: string, kind: 'update' | 'cancel', condition: OutboxCondition): SqlStatement;
  /** Emails were committed: send them now. */
  wake(): void;
}

export type { InvitationEmailItem, OutboxCondition } from './mail-outbox';

/** The Mailer over a running dispatcher. */
export function createMailer(dispatcher: { wake(): void }): Mailer {
  return {
    invitationEmails: invitationEmailsInsert,
    scheduleEmails: scheduleEmailsInsert,
    wake: () => dispatcher.wake(),
  };
}
