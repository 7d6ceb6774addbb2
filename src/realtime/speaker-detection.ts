import { performance } from 'node:perf_hooks';
import { SpeakingDetector, speakingGapMs, type SpeakingChange, type SpeakingOptions } from './speaking-detector';

/**
 * The speaking detectors of the sockets on this node, one per (socket, room). Levels stay here:
 * only a start or stop of speaking is reported (to the room actor), so a level that changes
 * nothing costs no Redis or PostgreSQL work. A sweep notices speakers who went quiet without a
 * low sample (muted, tab closed) and reports them stopped.
 */
export interface SpeakerDetection {
  /** A level (dBFS) from a participant's socket. */
  level(socketId: string, roomCode: string, userId: string, level: number): void;
  /** Drops the socket's detector for one room, or all of them; speech in progress is reported stopped. */
  forget(socketId: string, roomCode?: string): void;
  close(): void;
}

export interface SpeakerDetectionDeps {
  options: Omit<SpeakingOptions, 'gapMs'>;
  report(roomCode: string, userId: string, change: SpeakingChange): void;
  /** Monotonic milliseconds. */
  now?: () => number;
}

interface Entry {
  detector: SpeakingDetector;
  roomCode: string;
  userId: string;
}

/** How often silent speakers are looked for: a stop is reported within gap + this. */
const sweepEveryMs = 100;

export function createSpeakerDetection(deps: SpeakerDetectionDeps): SpeakerDetection {
  const now = deps.now ?? (() => performance.now());
  const options: SpeakingOptions = { ...deps.options, gapMs: speakingGapMs };
  const bySocket = new Map<string, Map<string, Entry>>();
  // Only the entries speaking now: the sweep's work grows with speakers, not with sockets.
  const speaking = new Set<Entry>();

  const report = (entry: Entry, change: SpeakingChange) => {
    if (change.type === 'started') speaking.add(entry);
    else speaking.delete(entry);
    deps.report(entry.roomCode, entry.userId, change);
  };

  const drop = (entry: Entry) => {
    if (entry.detector.speaking) report(entry, { type: 'stopped' });
  };

  const sweep = setInterval(() => {
    const at = now();
    for (const entry of speaking) if (entry.detector.expire(at)) report(entry, { type: 'stopped' });
  }, sweepEveryMs);
  sweep.unref();

  return {
    level(socketId, roomCode, userId, level) {
      let rooms = bySocket.get(socketId);
      if (!rooms) bySocket.set(socketId, (rooms = new Map()));
      let entry = rooms.get(roomCode);
      if (!entry) rooms.set(roomCode, (entry = { detector: new SpeakingDetector(options), roomCode, userId }));
      const change = entry.detector.sample(level, now());
      if (change) report(entry, change);
    },

    forget(socketId, roomCode) {
      const rooms = bySocket.get(socketId);
      if (!rooms) return;
      for (const [code, entry] of rooms) {
        if (roomCode !== undefined && code !== roomCode) continue;
        drop(entry);
        rooms.delete(code);
      }
      if (rooms.size === 0) bySocket.delete(socketId);
    },

    close() {
      clearInterval(sweep);
      bySocket.clear();
      speaking.clear();
    },
  };
}
