import type { Logger } from 'pino';
import type { AttachData } from '../contract/events';
import { hardwareStatusPayload, roomCodePayload } from '../contract/schemas';
import { AppError } from '../errors/app-error';
import type { RoomDirectory } from '../rooms/room-directory';
import { toLobbyEntryView, toParticipantView } from '../rooms/room-views';
import { connectionIdOf } from '../cluster/connection-ids';
import { acked } from './acks';
import type { SpeakerDetection } from './speaker-detection';
import type { MeetingSocket } from './socket-server';

export interface RoomHandlerDeps {
  rooms: RoomDirectory;
  /** This node's id: rooms record a socket as `{node_id}#{socket_id}` (cluster/connection-ids.ts). */
  nodeId: string;
  detection: SpeakerDetection;
  logger: Logger;
}

/**
 * `room:attach`, `room:detach`, `hardware:status` and `lobby:cancel` (DESIGN.md §7): each is one
 * command to the room's actor. The socket's id is its connection in the room's presence, so the
 * room knows who is connected and which sockets its channel holds; a socket that goes away
 * detaches from every room it attached to.
 */
export function registerRoomHandlers(socket: MeetingSocket, deps: RoomHandlerDeps): void {
  const { rooms, detection, logger } = deps;
  const userId = socket.data.userId;
  const connectionId = connectionIdOf(deps.nodeId, socket.id);
  // Rooms this socket attached to (or is attaching to): each gets a detach when the socket goes.
  // A socket recovered after a short disconnect (same id, missed events replayed) attaches again
  // to the rooms its session remembers, since its disconnect detached it from them.
  const attached = new Set<string>(socket.recovered ? (socket.data.attachedRooms ?? []) : []);
  const remember = () => {
    socket.data.attachedRooms = [...attached];
  };
  for (const room_code of attached) {
    rooms.dispatch(room_code, { type: 'attach', userId, connectionId }).catch((error: unknown) => {
      attached.delete(room_code);
      remember();
      logger.warn({ err: error, room_code, user_id: userId }, 'attaching a recovered socket failed');
    });
  }

  socket.on(
    'room:attach',
    acked(roomCodePayload, logger, async ({ room_code }): Promise<AttachData> => {
      // Recorded before the room hears of it, so a disconnect from here on sends the detach.
      if (socket.disconnected) throw new AppError('UNAVAILABLE', 'The socket is closing');
      const known = attached.has(room_code);
      attached.add(room_code);
      remember();
      // A participant's socket enters the room's channel through the room itself (channel:join).
      const reply = await rooms.dispatch(room_code, { type: 'attach', userId, connectionId }).catch((error: unknown) => {
        if (!known) attached.delete(room_code);
        remember();
        throw error;
      });
      const isHost = reply.room.hostId === userId;
      return {
        status: reply.joined ? 'joined' : 'waiting',
        participants: reply.participants.map(toParticipantView),
        active_speaker: reply.activeSpeaker,
        settings: reply.room.settings,
        ...(isHost ? { lobby: reply.lobby.map(toLobbyEntryView) } : {}),
      };
    }),
  );

  socket.on(
    'room:detach',
    acked(roomCodePayload, logger, async ({ room_code }) => {
      attached.delete(room_code);
      remember();
      detection.forget(socket.id, room_code);
      await rooms.dispatch(room_code, { type: 'detach', userId, connectionId });
      return { status: 'detached' as const };
    }),
  );

  socket.on(
    'hardware:status',
    acked(hardwareStatusPayload, logger, async ({ room_code, hardware_ready }) => {
      await rooms.dispatch(room_code, { type: 'setHardware', userId, hardwareReady: hardware_ready });
      return { hardware_ready };
    }),
  );

  socket.on(
    'lobby:cancel',
    acked(roomCodePayload, logger, async ({ room_code }) => {
      await rooms.dispatch(room_code, { type: 'cancelWaiting', userId });
      return { status: 'cancelled' as const };
    }),
  );

  socket.on('disconnecting', () => {
    detection.forget(socket.id);
    // The session keeps attachedRooms, for a recovery.
    for (const room_code of attached) {
      rooms
        .dispatch(room_code, { type: 'detach', userId, connectionId })
        .catch((error: unknown) => logger.warn({ err: error, room_code, user_id: userId }, 'detach after disconnect failed'));
    }
    attached.clear();
  });
}
