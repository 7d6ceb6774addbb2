import { audioLevelPayload } from '../contract/schemas';
import { roomChannel } from './channels';
import type { SpeakerDetection } from './speaker-detection';
import type { MeetingSocket } from './socket-server';

/**
 * `audio:level` (DESIGN.md §8): the hot path, 10-20 events a second per participant, so no
 * ack, no I/O and no error replies. A level counts only if the socket is in the room's channel,
 * which only a participant's attached sockets are: lobby users and strangers change nothing, and
 * nobody can report a level for someone else (the user is the socket's own).
 */
export function registerSpeakerHandlers(socket: MeetingSocket, detection: SpeakerDetection): void {
  socket.on('audio:level', (payload: unknown) => {
    const parsed = audioLevelPayload.safeParse(payload);
    if (!parsed.success) return;
    const { room_code, level } = parsed.data;
    if (!socket.rooms.has(roomChannel(room_code))) return;
    detection.level(socket.id, room_code, socket.data.userId, level);
  });
}
