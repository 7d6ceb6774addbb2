import { joinRows, type RoomOutbox, type RoomOutcome } from '../rooms/room-outbox';
import type { OutboxRows } from '../rooms/room-repository';
import type { Mailer } from './mailer';

/**
 * The invitation emails a room's commits cause (rooms/room-outbox.ts): the invitees of a
 * scheduled meeting get a calendar update when its schedule changes, and a cancellation when it
 * ends before it ever started (ended by its host, or as a room nobody used). Written in the
 * command's own transaction, under its fence.
 */
export function createMailOutbox(mailer: Mailer): RoomOutbox {
  const ofCommand = ({ before, changes }: RoomOutcome): OutboxRows | null => {
    const ended = changes.some((change) => change.kind === 'roomEnded');
    if (ended)
      return before.startedAt === null && before.schedule.startAt !== null ? (condition) => [mailer.scheduleEmails(before.roomId, 'cancel', condition)] : null;
    return changes.some((change) => change.kind === 'scheduleChanged') ? (condition) => [mailer.scheduleEmails(before.roomId, 'update', condition)] : null;
  };
  return {
    ofCommands: (outcomes) => joinRows(outcomes.map(ofCommand)),
    // A new room has no invitations yet.
    ofCreated: () => null,
    committed: () => mailer.wake(),
  };
}
