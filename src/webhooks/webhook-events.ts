import { randomUUID } from 'node:crypto';
import type { LobbyEntryView, ParticipantView, RoomView } from '../contract/schemas';
import type { InvitationView } from '../contract/invitations';
import type { InvitationEvent } from '../invitations/invitation-events';
import { summarize, type RoomSummary } from '../rooms/room-router';
import { toLobbyEntryView, toParticipantView, toRoomView } from '../rooms/room-views';
import type { RoomOutcome } from '../rooms/room-outbox';

/**
 * The lifecycle events a product's backend receives (docs/webhooks.md "Events"), built from what one
 * room command changed. Pure: the room runtime writes them to the outbox in the command's own
 * PostgreSQL transaction (webhook-outbox.ts), and the dispatcher posts them.
 */
export type WebhookEventType =
  | 'room.created'
  | 'room.started'
  | 'room.ended'
  | 'room.settings_updated'
  | 'participant.joined'
  | 'participant.left'
  | 'lobby.entered'
  | 'lobby.admitted'
  | 'lobby.rejected'
  | 'invitation.created'
  | 'invitation.accepted'
  | 'invitation.revoked';

export type WebhookData =
  | { room: RoomView }
  | { participant: ParticipantView }
  | { participant: ParticipantView; reason: 'left' | 'removed' | 'disconnected' | 'ended' }
  | { entry: LobbyEntryView }
  | { invitation: InvitationView };

/** One event, exactly as it is posted (the body is this object's JSON). */
export interface WebhookEvent {
  /** Unique per event; also its `Webhook-Id`, the same on every retry. */
  id: string;
  type: WebhookEventType;
  created_at: string;
  room_code: string;
  data: WebhookData;
}

const event = (type: WebhookEventType, roomCode: string, at: number, data: WebhookData): WebhookEvent => ({
  id: randomUUID(),
  type,
  created_at: new Date(at).toISOString(),
  room_code: roomCode,
  data,
});

/** An invitation's event (created, accepted, revoked), as posted. */
export const invitationWebhookEvent = (change: InvitationEvent): WebhookEvent =>
  event(change.type, change.roomCode, change.at, { invitation: change.invitation });

/** `room.created`, for a room just written. */
export const roomCreatedEvent = (room: RoomSummary, publicBaseUrl: string): WebhookEvent =>
  event('room.created', room.roomCode, room.createdAt, { room: toRoomView(room, room.hostId, publicBaseUrl) });

/** The events of one accepted command, in the order the room's members heard about them. */
export function webhookEventsOf(outcome: RoomOutcome, publicBaseUrl: string): WebhookEvent[] {
  const { before, changes, notices, at } = outcome;
  const after = outcome.after.context;
  const code = after.roomCode;
  // The room after the command, as REST shows it to its host.
  const roomView = () => {
    const room = summarize(outcome.after);
    return { room: toRoomView(room, room.hostId, publicBaseUrl) };
  };
  const events: WebhookEvent[] = [];
  for (const notice of notices) {
    switch (notice.type) {
      case 'room:updated':
        // A room starts with a `room:updated` too; any other is a change of its settings or schedule.
        events.push(event(changes.some((change) => change.kind === 'roomStarted') ? 'room.started' : 'room.settings_updated', code, at, roomView()));
        break;
      case 'room:ended':
        // Everyone still in the room leaves with it: an attendance report needs every departure.
        for (const participant of Object.values(before.participants)) {
          events.push(event('participant.left', code, at, { participant: toParticipantView(participant), reason: 'ended' }));
        }
        events.push(event('room.ended', code, at, roomView()));
        break;
      case 'participant:joined':
        events.push(event('participant.joined', code, at, { participant: toParticipantView(notice.participant) }));
        break;
      case 'participant:left': {
        const participant = before.participants[notice.userId];
        if (participant) events.push(event('participant.left', code, at, { participant: toParticipantView(participant), reason: notice.reason }));
        break;
      }
      case 'lobby:entered': {
        const entry = after.lobby[notice.userId];
        if (entry) events.push(event('lobby.entered', code, at, { entry: toLobbyEntryView(entry) }));
        break;
      }
      case 'lobby:admitted':
      case 'lobby:rejected': {
        const entry = before.lobby[notice.userId];
        if (entry) events.push(event(notice.type === 'lobby:admitted' ? 'lobby.admitted' : 'lobby.rejected', code, at, { entry: toLobbyEntryView(entry) }));
        break;
      }
      default:
        break;
    }
  }
  return events;
}
