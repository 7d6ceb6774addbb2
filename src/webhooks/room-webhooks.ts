import type { RoomOutbox } from '../rooms/room-outbox';
import { newRoomSummary } from '../rooms/room-router';
import { roomCreatedEvent, webhookEventsOf, type WebhookEvent } from './webhook-events';
import { outboxInsert } from './webhook-outbox';

/**
 * The webhooks as rooms see them (rooms/room-outbox.ts): each commit's lifecycle events become
 * outbox rows, one per event and endpoint, in the commit's own transaction; once committed, the
 * dispatcher looks for them at once instead of at its next poll.
 */
export function createWebhookOutbox(publicBaseUrl: () => string, endpoints: readonly string[], dispatcher: { wake(): void }): RoomOutbox {
  const rows = (events: WebhookEvent[]) =>
    events.length > 0 && endpoints.length > 0 ? (condition: Parameters<typeof outboxInsert>[2]) => [outboxInsert(events, endpoints, condition)] : null;
  return {
    ofCommand: (outcome) => rows(webhookEventsOf(outcome, publicBaseUrl())),
    ofCreated: (room) => rows([roomCreatedEvent(newRoomSummary(room), publicBaseUrl())]),
    committed: () => dispatcher.wake(),
  };
}
