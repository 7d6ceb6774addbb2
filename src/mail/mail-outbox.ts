import type { SqlStatement } from '../persistence/sql';

/**
 * The mail outbox: one `mail_outbox` row per email, inserted by the statements below inside the
 * invitation's (or the schedule change's) own transaction, so an email exists exactly when what
 * it announces was committed (docs/email.md "The outbox"). The dispatcher sends them
 * (mail-dispatcher.ts).
 */

/** Appended to a statement's WHERE: the caller's own guard, so the rows are written only if its other writes are. */
export interface OutboxCondition {
  sql: string;
  params: readonly unknown[];
}

/** One new invitation and its raw token, which only its email may carry (docs/email.md "Where the token rests"). */
export interface InvitationEmailItem {
  invitationId: string;
  token: string;
}

/** The insert of one `invitation` email per item, in the items' order, as one statement of a batch (`?` parameters). */
export function invitationEmailsInsert(items: readonly InvitationEmailItem[], condition: OutboxCondition): SqlStatement {
  return [
    `insert into mail_outbox (id, invitation_id, kind, token, created_at)
     select gen_random_uuid(), (e.item->>'invitationId')::uuid, 'invitation', e.item->>'token', now()
       from jsonb_array_elements(?::jsonb) with ordinality as e(item, position)
      where true${condition.sql}
      order by e.position`,
    [JSON.stringify(items.map(({ invitationId, token }) => ({ invitationId, token }))), ...condition.params],
  ];
}

/**
 * The insert of one `update` or `cancel` email per invitation of the room that still stands:
 * accepted, or pending and not expired (a pending one past `expires_at` is expired; an accepted
 * one is not). Revoked invitations hear nothing more.
 */
export function scheduleEmailsInsert(roomId: string, kind: 'update' | 'cancel', condition: OutboxCondition): SqlStatement {
  return [
    `insert into mail_outbox (id, invitation_id, kind, token, created_at)
     select gen_random_uuid(), i.id, ?, null, now()
       from invitations i
      where i.room_id = ? and (i.status = 'accepted' or (i.status = 'pending' and i.expires_at > now()))${condition.sql}
      order by i.created_at, i.id`,
    [kind, roomId, ...condition.params],
  ];
}
