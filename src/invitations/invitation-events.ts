import type { InvitationView } from '../contract/invitations';
import type { SqlStatement } from '../persistence/sql';
import type { WriteCondition } from '../rooms/room-repository';

/** What became of an invitation, for whoever listens (the webhooks: docs/webhooks.md "Events"). */
export interface InvitationEvent {
  type: 'invitation.created' | 'invitation.accepted' | 'invitation.revoked';
  roomCode: string;
  at: number;
  /** As the host's list shows it, without a link. */
  invitation: InvitationView;
}

/**
 * Whoever listens to invitations plugs in here, as the webhooks do for rooms (rooms/room-outbox.ts):
 * the rows to write in the change's own transaction, written only if `condition` holds when the
 * statement runs (the change really happened), and a call once they are committed.
 */
export interface InvitationListener {
  rows(events: readonly InvitationEvent[], condition: WriteCondition): SqlStatement[];
  committed(): void;
}

/** Nobody listens. */
export const noInvitationListener: InvitationListener = { rows: () => [], committed: () => undefined };
