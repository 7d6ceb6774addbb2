import type { Logger } from 'pino';
import { z } from 'zod';
import type { SpeakerTuning } from '../rooms/room.types';
import type { MeetingServer } from './socket-server';

/**
 * Carries a room's speaker tuning (docs/realtime.md "Per-room speaker tuning") from the node that owns
 * the room to the speaking detectors of every node: when the tuning changes, and when sockets
 * join the channel of a tuned room. This node applies it at once, the others through the
 * adapter's server-side emit. That is not ordered with the join on every adapter (the streams
 * adapter sends it over pub/sub), so the detectors keep a tuning heard before its socket's
 * join (speaking-detectors.ts).
 */
export interface SpeakerTunings {
  announce(roomCode: string, tuning: SpeakerTuning): void;
  /** Where this node applies tunings, its own and the other nodes'. */
  onTuned(apply: (roomCode: string, tuning: SpeakerTuning) => void): void;
}

const tuningMessage = z.tuple([
  z.string().max(64),
  z.strictObject({ thresholdDb: z.number().min(-127).max(0).nullable(), minMs: z.number().int().min(0).max(10_000).nullable() }),
]);

/** `clustered`: the adapter reaches other nodes (the in-memory one has none to reach). */
export function createSpeakerTunings(io: MeetingServer, clustered: boolean, logger: Logger): SpeakerTunings {
  let apply: (roomCode: string, tuning: SpeakerTuning) => void = () => {};
  io.on('speaker:tuned', (...message: unknown[]) => {
    const parsed = tuningMessage.safeParse(message);
    if (!parsed.success) {
      logger.warn({ err: parsed.error }, 'ignored a malformed speaker:tuned from another node');
      return;
    }
    apply(...parsed.data);
  });
  return {
    announce(roomCode, tuning) {
      apply(roomCode, tuning);
      if (clustered) io.serverSideEmit('speaker:tuned', roomCode, tuning);
    },
    onTuned(listener) {
      apply = listener;
    },
  };
}
