import type { Logger } from 'pino';
import type { AttachData } from '../contract/events';
import { hardwareStatusPayload, mediaStatePayload, roomCodePayload } from '../contract/schemas';
import { AppError } from '../errors/app-error';
import type { RoomRouter } from '../rooms/room-router';
import { toRosterView } from '../rooms/room-views';
import { connectionIdOf } from '../live-state/connection-ids';
import { acked } from './acks';
import { roomChannel, type ChannelInterest } from './channels';
import type { CallSettings } from './ice-servers';
import type { SpeakingDetectors } from './speaking-detectors';
import type { MeetingSocket } from './socket-server';

export interface RoomHandlerDeps {
  rooms: RoomRouter;
  /** This node's id: rooms record a socket as `{node_id}#{socket_id}` (live-state/connection-ids.ts). */
  nodeId: string;
  detectors: SpeakingDetectors;
  /** What a participant's calls use (docs/calls.md "ICE servers and TURN"), in the attach reply. */
  calls: CallSettings;
  /** Holds a room's channel on this node while one of its sockets is attached (channels.ts). */
  interest: ChannelInterest;
  logger: Logger;
}

/**
 * `room:attach`, `room:detach`, `hardware:status` and `lobby:cancel` (docs/realtime.md "Events"): each is one
 * command to the room's actor. The socket's id is its connection in the room's presence, so the
 * room knows who is connected and which sockets its channel holds; a socket that goes away
 * detaches from every room it attached to.
 *
 * The listeners are made once and shared by every socket (Socket.IO calls a listener with its
 * socket as `this`); what a socket needs of its own is in `socket.data`: its user, and the rooms
 * it attached to (or is attaching to), each of which gets a detach when the socket goes. That
 * list stays in the socket's session, so a socket recovered after a short disconnect (same id,
 * missed events replayed) attaches again to those rooms, since its disconnect detached it.
 * Returns what to run for each new socket.
 */
export function createRoomHandlers(deps: RoomHandlerDeps): (socket: MeetingSocket) => void {
  const { rooms, detectors, logger, interest } = deps;
  const connectionOf = (socket: MeetingSocket) => connectionIdOf(deps.nodeId, socket.id);
  const forgetAttached = (socket: MeetingSocket, room_code: string) => {
    if (!socket.data.attachedRooms?.includes(room_code)) return;
    socket.data.attachedRooms = socket.data.attachedRooms.filter((code) => code !== room_code);
    interest.release(roomChannel(room_code));
  };

  const attach = acked(roomCodePayload, logger, async (socket, { room_code }): Promise<AttachData> => {
    // Recorded before the room hears of it, so a disconnect from here on sends the detach.
    if (socket.disconnected) throw new AppError('UNAVAILABLE', 'The socket is closing');
    const userId = socket.data.userId;
    const attached = socket.data.attachedRooms ?? [];
    const known = attached.includes(room_code);
    if (!known) {
      socket.data.attachedRooms = [...attached, room_code];
      // Before the room hears of the socket: its events from then on reach this node.
      await interest.hold(roomChannel(room_code));
    }
    // A participant's socket enters the room's channel through the room itself (channel:join).
    const reply = await rooms.dispatch(room_code, { type: 'attach', userId, connectionId: connectionOf(socket) }).catch((error: unknown) => {
      if (!known) forgetAttached(socket, room_code);
      throw error;
    });
    return {
      status: reply.joined ? 'joined' : 'waiting',
      ...toRosterView(reply, userId),
      active_speaker: reply.activeSpeaker,
      settings: reply.room.settings,
      ends_at:
        reply.joined && reply.room.settings.end_at_scheduled_end && reply.room.schedule.endAt !== null
          ? new Date(reply.room.schedule.endAt).toISOString()
          : null,
      ...(reply.joined ? deps.calls.forAttach(userId) : {}),
    };
  });

  const detach = acked(roomCodePayload, logger, async (socket, { room_code }) => {
    forgetAttached(socket, room_code);
    detectors.forget(socket.id, room_code);
    await rooms.dispatch(room_code, { type: 'detach', userId: socket.data.userId, connectionId: connectionOf(socket) });
    return { status: 'detached' as const };
  });

  const setHardware = acked(hardwareStatusPayload, logger, async (socket, { room_code, hardware_ready }) => {
    await rooms.dispatch(room_code, { type: 'setHardware', userId: socket.data.userId, hardwareReady: hardware_ready });
    return { hardware_ready };
  });

  const setMedia = acked(mediaStatePayload, logger, async (socket, { room_code, audio, video }) => {
    await rooms.dispatch(room_code, { type: 'setMedia', userId: socket.data.userId, media: { audio, video } });
    return { audio, video };
  });

  const cancelWaiting = acked(roomCodePayload, logger, async (socket, { room_code }) => {
    await rooms.dispatch(room_code, { type: 'cancelWaiting', userId: socket.data.userId });
    return { status: 'cancelled' as const };
  });

  function disconnecting(this: MeetingSocket) {
    detectors.forget(this.id);
    // The session keeps attachedRooms, for a recovery.
    const userId = this.data.userId;
    const connectionId = connectionOf(this);
    for (const room_code of this.data.attachedRooms ?? []) {
      interest.release(roomChannel(room_code));
      rooms
        .dispatch(room_code, { type: 'detach', userId, connectionId })
        .catch((error: unknown) => logger.warn({ err: error, room_code, user_id: userId }, 'detach after disconnect failed'));
    }
  }

  return (socket) => {
    if (socket.recovered) {
      const userId = socket.data.userId;
      const connectionId = connectionOf(socket);
      for (const room_code of [...(socket.data.attachedRooms ?? [])]) {
        interest
          .hold(roomChannel(room_code))
          .then(() => rooms.dispatch(room_code, { type: 'attach', userId, connectionId }))
          .catch((error: unknown) => {
            forgetAttached(socket, room_code);
            logger.warn({ err: error, room_code, user_id: userId }, 'attaching a recovered socket failed');
          });
      }
    }
    socket.on('room:attach', attach);
    socket.on('room:detach', detach);
    socket.on('hardware:status', setHardware);
    socket.on('media:state', setMedia);
    socket.on('lobby:cancel', cancelWaiting);
    socket.on('disconnecting', disconnecting);
  };
}
