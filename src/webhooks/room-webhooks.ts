import type { InvitationListener } from '../invitations/invitation-events';
import type { RoomOutbox } from '../rooms/room-outbox';
import { newRoomSummary } from '../rooms/room-router';
import { invitationWebhookEvent, roomCreatedEvent, webhookEventsOf, type WebhookEvent } from './webhook-events';
import { outboxInsert } from './webhook-outbox';

/**
 * The webhooks as rooms see them (rooms/room-outbox.ts): each commit's lifecycle events become
 * outbox rows, one per event and endpoint, in the commit's own transaction; once committed, the
 * dispatcher hears which room has new rows (webhook-dispatcher.ts `wake`) instead of waiting for
 * its next poll.
 */
export function createWebhookOutbox(publicBaseUrl: () => string, endpoints: readonly string[], dispatcher: { wake(roomCode?: string): void }): RoomOutbox {
  const rows = (events: WebhookEvent[]) =>
    events.length > 0 && endpoints.length > 0 ? (condition: Parameters<typeof outboxInsert>[2]) => [outboxInsert(events, endpoints, condition)] : null;
  return {
    // A commit's events, of however many commands, in one statement.
    ofCommands: (outcomes) => rows(outcomes.flatMap((outcome) => webhookEventsOf(outcome, publicBaseUrl()))),
    ofCreated: (room) => rows([roomCreatedEvent(newRoomSummary(room), publicBaseUrl())]),
    committed: (roomCode) => dispatcher.wake(roomCode),
  };
}

/** The webhooks as invitations see them (invitations/invitation-events.ts): their events, in the change's own transaction. */
export function createInvitationWebhooks(endpoints: readonly string[], dispatcher: { wake(): void }): InvitationListener {
  return {
    rows: (events, condition) => (events.length > 0 && endpoints.length > 0 ? [outboxInsert(events.map(invitationWebhookEvent), endpoints, condition)] : []),
    committed: () => dispatcher.wake(),
  };
}
