import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import { roomCodePayload, rtcSignalPayload } from '../contract/schemas';
import { AppError } from '../errors/app-error';
import { connectionIdOf } from '../live-state/connection-ids';
import type { RoomRouter } from '../rooms/room-router';
import { acked } from './acks';
import type { CallSettings } from './ice-servers';
import type { MeetingSocket } from './socket-server';

export interface RtcHandlerDeps {
  rooms: RoomRouter;
  nodeId: string;
  calls: CallSettings;
  logger: Logger;
}

/**
 * Signals a socket may send a second, sustained, and in a burst (under the guard's 200 for all events, socket-guard.ts): a mesh call's negotiation sends
 * an offer or answer and a dozen or so candidates per peer, and an ICE restart as many again.
 */
const signalsPerSecond = 50;
const signalBurst = 100;

/**
 * `rtc:signal` and `rtc:ice_servers` (docs/calls.md "Signaling"). A signal is a command to the room like any
 * other: the room decides, in the order of its commands, whether the sender and the receiver are
 * both seated, and hands it to the receiver's media socket on whichever node holds it.
 */
export function createRtcHandlers(deps: RtcHandlerDeps): (socket: MeetingSocket) => void {
  const { rooms, logger } = deps;
  // Per socket: signalBurst signals in any window of signalBurst / signalsPerSecond seconds.
  const signals = new RateLimiterMemory({ points: signalBurst, duration: signalBurst / signalsPerSecond });

  const signal = acked(rtcSignalPayload, logger, async (socket, { room_code, to, description, candidate }) => {
    await signals.consume(socket.id).catch(() => {
      throw new AppError('RATE_LIMITED', `At most ${signalBurst} signals in ${signalBurst / signalsPerSecond} s`);
    });
    const body = description ? { description } : { candidate: candidate ?? null };
    const connectionId = connectionIdOf(deps.nodeId, socket.id);
    const { delivered } = await rooms.dispatch(room_code, { type: 'signal', userId: socket.data.userId, connectionId, to, signal: body });
    return { delivered };
  });

  const iceServers = acked(roomCodePayload, logger, async (socket, { room_code }) => {
    const userId = socket.data.userId;
    const { participants } = await rooms.dispatch(room_code, { type: 'viewParticipants', by: userId });
    // The host may see the room before joining it; TURN credentials are for those in the call.
    if (!participants.some((p) => p.userId === userId)) throw new AppError('NOT_A_PARTICIPANT', 'Join the room before asking for its ICE servers');
    return { ice_servers: deps.calls.iceServers(userId) };
  });

  return (socket) => {
    socket.on('rtc:signal', signal);
    socket.on('rtc:ice_servers', iceServers);
  };
}
