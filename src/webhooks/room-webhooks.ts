import type { NewRoom } from '../rooms/room-repository';
import { roomCreatedEvent, webhookEventsOf, type RoomOutcome, type WebhookEvent } from './webhook-events';

/** What the room host asks of webhooks: the events to write with a change, and a nudge after. */
export interface RoomWebhooks {
  /** The events of a command about to be committed; none when webhooks are off. */
  eventsOf(outcome: RoomOutcome): WebhookEvent[];
  /** `room.created` for a room about to be written; none when webhooks are off. */
  created(room: NewRoom): WebhookEvent[];
  /** Rows were committed: the dispatcher looks for them now, not at its next poll. */
  written(): void;
}

/** WEBHOOK_URL unset: no events, no rows. */
export const noWebhooks: RoomWebhooks = { eventsOf: () => [], created: () => [], written: () => undefined };

export function createRoomWebhooks(publicBaseUrl: string, dispatcher: { wake(): void }): RoomWebhooks {
  return {
    eventsOf: (outcome) => webhookEventsOf(outcome, publicBaseUrl),
    created: (room) => [
      roomCreatedEvent(
        {
          roomCode: room.roomCode,
          name: room.name,
          status: 'pending',
          hostId: room.hostId,
          settings: room.settings,
          createdAt: room.createdAt,
          startedAt: null,
          endedAt: null,
          participantCount: 0,
          lobbyCount: 0,
        },
        publicBaseUrl,
      ),
    ],
    written: () => dispatcher.wake(),
  };
}
