import type { NoticePublisher } from '../rooms/room-directory';
import type { RoomNotice } from '../rooms/room.machine';
import { toParticipantView } from '../rooms/room-views';
import { roomChannel, userChannel } from './channels';
import type { MeetingServer } from './socket-server';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Turns what a room tells its members into the Socket.IO events of DESIGN.md §7, and keeps the
 * room channel's membership in step with the room (`channel:join`/`channel:leave`, and an ended
 * room empties it), in the order of the room's commands. Through the adapter this reaches
 * sockets on every node.
 */
export function createRoomPublisher(io: MeetingServer): NoticePublisher {
  return (roomCode, notices) => {
    for (const notice of notices) deliver(io, roomCode, notice);
  };
}

function deliver(io: MeetingServer, room_code: string, notice: RoomNotice): void {
  const room = roomChannel(room_code);
  switch (notice.type) {
    case 'channel:join':
      io.in(notice.connections).socketsJoin(room);
      return;
    case 'channel:leave':
      io.in(notice.connections).socketsLeave(room);
      return;
    case 'lobby:waiting':
      io.to(userChannel(notice.userId)).emit('lobby:waiting', { room_code, reason: notice.reason });
      return;
    case 'lobby:entered':
      io.to(userChannel(notice.hostId)).emit('lobby:entered', { room_code, user_id: notice.userId, display_name: notice.displayName });
      return;
    case 'lobby:left':
      io.to(userChannel(notice.hostId)).emit('lobby:left', { room_code, user_id: notice.userId });
      return;
    case 'lobby:admitted':
      io.to(userChannel(notice.userId)).emit('lobby:admitted', { room_code });
      return;
    case 'lobby:rejected':
      io.to(userChannel(notice.userId)).emit('lobby:rejected', { room_code });
      return;
    case 'participant:joined':
      io.to(room).emit('participant:joined', { room_code, participant: toParticipantView(notice.participant) });
      return;
    case 'participant:updated':
      io.to(room).emit('participant:updated', { room_code, participant: toParticipantView(notice.participant) });
      return;
    case 'participant:left':
      io.to(room).emit('participant:left', { room_code, user_id: notice.userId, reason: notice.reason });
      return;
    case 'participant:removed':
      io.to(userChannel(notice.userId)).emit('participant:removed', { room_code });
      return;
    case 'speaker:changed':
      io.to(room).emit('speaker:changed', { room_code, user_id: notice.userId, at: iso(notice.at) });
      return;
    case 'room:updated':
      io.to(room).emit('room:updated', { room_code, settings: notice.settings, status: notice.status });
      return;
    case 'room:ended':
      // Everyone in the room or its lobby hears it once, attached or not; then the channel empties.
      io.to([room, ...notice.userIds.map(userChannel)]).emit('room:ended', { room_code, ended_at: iso(notice.at) });
      io.in(room).socketsLeave(room);
      return;
  }
}
