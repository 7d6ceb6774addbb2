import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { RoomRouter } from '../rooms/room-router';
import { roomChannel, userChannel, type ChannelInterest } from './channels';
import type { CallSettings } from './ice-servers';
import { createRoomHandlers } from './room.handlers';
import { createRtcHandlers } from './rtc.handlers';
import { createSpeakingDetectors } from './speaking-detectors';
import { countChannelLeaves, registerSpeakerHandlers } from './speaker.handlers';
import { createSocketGuard } from './socket-guard';
import type { MeetingServer } from './socket-server';
import type { SpeakerTunings } from './speaker-tunings';

export interface RealtimeDeps {
  rooms: RoomRouter;
  nodeId: string;
  logger: Logger;
  /** ACTIVE_SPEAKER_THRESHOLD_DB and ACTIVE_SPEAKER_MIN_MS. */
  speaker: { thresholdDb: number; minMs: number };
  /** Rooms' own speaker tunings, as they reach this node. */
  tunings: SpeakerTunings;
  metrics: Registry;
  calls: CallSettings;
  /** How this node comes to hear a room's channel (channels.ts): the sharded adapter's holds, or nothing to do. */
  interest: ChannelInterest;
}

/** Wires every connecting socket: its personal channel, the guard, and the event handlers. */
export function registerRealtime(io: MeetingServer, deps: RealtimeDeps): { close(): void } {
  const { rooms, logger } = deps;
  const adapter = io.of('/').adapter;
  const detectors = createSpeakingDetectors({
    options: deps.speaker,
    inChannel: (roomCode) => adapter.rooms.has(roomChannel(roomCode)),
    report(roomCode, userId, change) {
      const command =
        change.type === 'started' ? { type: 'speakingStarted' as const, userId, level: change.level } : { type: 'speakingStopped' as const, userId };
      rooms.dispatch(roomCode, command).catch((error: unknown) => logger.warn({ err: error, room_code: roomCode }, 'speaking change failed'));
    },
  });

  new Gauge({
    name: 'socketio_connected_sockets',
    help: 'Socket.IO connections open on this node',
    registers: [deps.metrics],
    collect() {
      this.set(io.engine.clientsCount);
    },
  });

  deps.tunings.onTuned(detectors.tune);

  const registerRoomHandlers = createRoomHandlers({ rooms, nodeId: deps.nodeId, detectors, calls: deps.calls, logger, interest: deps.interest });
  const registerRtcHandlers = createRtcHandlers({ rooms, nodeId: deps.nodeId, calls: deps.calls, logger });
  const guardSocket = createSocketGuard(logger);
  const leaves = countChannelLeaves(io);
  io.on('connection', (socket) => {
    void socket.join(userChannel(socket.data.userId));
    guardSocket(socket);
    registerRoomHandlers(socket);
    registerRtcHandlers(socket);
    registerSpeakerHandlers(socket, detectors, leaves);
  });

  return { close: () => detectors.close() };
}
