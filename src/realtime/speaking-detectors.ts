import { performance } from 'node:perf_hooks';
import type { SpeakerTuning } from '../rooms/room.types';
import { SpeakingDetector, speakingGapMs, type SpeakingChange, type SpeakingOptions } from './speaking-detector';

/**
 * The speaking detectors of the sockets on this node, one per (socket, room). Levels stay here:
 * only a start or stop of speaking is reported (to the room actor), so a level that changes
 * nothing costs no Redis or PostgreSQL work.
 *
 * A run becomes speech at exactly first sample + ACTIVE_SPEAKER_MIN_MS, not at the first
 * sample after that (up to one sample interval later): each pending run has one timer, armed
 * when the run starts and cleared when it ends, so a sample that only continues a run costs no
 * timer work. A sweep notices speakers who went quiet without a low sample (muted, tab closed)
 * and reports them stopped.
 *
 * A room may have its own threshold and minimum (docs/realtime.md "Per-room speaker tuning"). The
 * detectors of one room share one options object, which `tune()` changes in place, so a
 * change reaches every detector of the room with no lookup per level. The object stays while
 * the room has detectors or sockets in its channel on this node, or was tuned in the last
 * `keepTunedMs`: a tuning may arrive just before the join of the socket it is for.
 */
export interface SpeakingDetectors {
  /** A level (dBFS) from a participant's socket: `sample(track(…), level)`. */
  level(socketId: string, roomCode: string, userId: string, level: number): void;
  /**
   * The detector of a participant's socket in one room, made on first use. A caller that sends
   * it many levels keeps it and calls `sample()`, with no lookups per level, until it is no
   * longer `live`.
   */
  track(socketId: string, roomCode: string, userId: string): LevelTracker;
  /** A level (dBFS) for a tracker; nothing once it is no longer live. */
  sample(tracker: LevelTracker, level: number): void;
  /** Drops the socket's detector for one room, or all of them; speech in progress is reported stopped. */
  forget(socketId: string, roomCode?: string): void;
  /** The room's speaker tuning (null fields: the node's defaults), for its detectors now and later. */
  tune(roomCode: string, tuning: SpeakerTuning): void;
  close(): void;
}

export interface SpeakingDetectorsDeps {
  /** ACTIVE_SPEAKER_THRESHOLD_DB and ACTIVE_SPEAKER_MIN_MS: for rooms without their own. */
  options: Omit<SpeakingOptions, 'gapMs'>;
  /** Whether a socket of this node is in the room's channel. */
  inChannel(roomCode: string): boolean;
  report(roomCode: string, userId: string, change: SpeakingChange): void;
  /** Monotonic milliseconds. */
  now?: () => number;
}

export interface LevelTracker {
  readonly roomCode: string;
  /** False once `forget()` or `close()` dropped it: track the socket again. */
  readonly live: boolean;
}

/** The options every detector of one room shares, the entries that use them, and when they were last tuned. */
interface RoomOptions {
  options: SpeakingOptions;
  entries: Set<Entry>;
  tunedAt: number;
}

interface Entry extends LevelTracker {
  live: boolean;
  room: RoomOptions;
  detector: SpeakingDetector;
  userId: string;
  /** The detector's `speechDueAt()` that `timer` is armed for (null: no timer). */
  dueAt: number | null;
  timer: NodeJS.Timeout | null;
}

/** How often silent speakers are looked for: a stop is reported within gap + this. */
const sweepEveryMs = 100;
/** How long a room's tuning is kept with no detector or socket of the room here (and how often that is checked). */
export const keepTunedMs = 10_000;

export function createSpeakingDetectors(deps: SpeakingDetectorsDeps): SpeakingDetectors {
  const now = deps.now ?? (() => performance.now());
  const defaults = deps.options;
  const byRoom = new Map<string, RoomOptions>();
  const bySocket = new Map<string, Map<string, Entry>>();
  // Only the entries speaking now: the sweep's work grows with speakers, not with sockets.
  const speaking = new Set<Entry>();

  const report = (entry: Entry, change: SpeakingChange) => {
    if (change.type === 'started') speaking.add(entry);
    else speaking.delete(entry);
    deps.report(entry.roomCode, entry.userId, change);
  };

  /** Keeps the entry's timer on its run's due time; nothing to do while the run goes on. */
  const schedule = (entry: Entry, at: number) => {
    const due = entry.detector.speechDueAt();
    if (due === entry.dueAt) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.dueAt = due;
    entry.timer = null;
    if (due === null) return;
    // Timers count whole milliseconds on the event loop's clock: one that fires a hair early
    // finds the run not yet due and is armed again for the rest.
    entry.timer = setTimeout(runDue, Math.max(1, Math.ceil(due - at)), entry);
    entry.timer.unref();
  };

  function runDue(entry: Entry) {
    entry.timer = null;
    entry.dueAt = null;
    const at = now();
    const change = entry.detector.expire(at);
    if (change) report(entry, change);
    schedule(entry, at);
  }

  const cancel = (entry: Entry) => {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    entry.dueAt = null;
  };

  const roomOptions = (roomCode: string): RoomOptions => {
    let room = byRoom.get(roomCode);
    if (!room) byRoom.set(roomCode, (room = { options: { ...defaults, gapMs: speakingGapMs }, entries: new Set(), tunedAt: Number.NEGATIVE_INFINITY }));
    return room;
  };

  const drop = (entry: Entry) => {
    entry.live = false;
    cancel(entry);
    entry.room.entries.delete(entry);
    if (entry.detector.speaking) report(entry, { type: 'stopped' });
  };

  const track = (socketId: string, roomCode: string, userId: string): Entry => {
    let rooms = bySocket.get(socketId);
    if (!rooms) bySocket.set(socketId, (rooms = new Map()));
    let entry = rooms.get(roomCode);
    if (!entry) {
      const room = roomOptions(roomCode);
      entry = { live: true, room, detector: new SpeakingDetector(room.options), roomCode, userId, dueAt: null, timer: null };
      room.entries.add(entry);
      rooms.set(roomCode, entry);
    }
    return entry;
  };

  const sample = (entry: Entry, level: number) => {
    // Most levels are a silent participant's: they change nothing, so they cost no clock read.
    if (!entry.live || (level < entry.room.options.thresholdDb && entry.detector.idle)) return;
    const at = now();
    const change = entry.detector.sample(level, at);
    if (change) report(entry, change);
    schedule(entry, at);
  };

  const sweep = setInterval(() => {
    const at = now();
    for (const entry of speaking) {
      const change = entry.detector.expire(at);
      if (change) report(entry, change);
    }
  }, sweepEveryMs);
  sweep.unref();

  const forgetUnused = setInterval(() => {
    const at = now();
    for (const [roomCode, room] of byRoom) {
      if (room.entries.size === 0 && at - room.tunedAt >= keepTunedMs && !deps.inChannel(roomCode)) byRoom.delete(roomCode);
    }
  }, keepTunedMs);
  forgetUnused.unref();

  return {
    level(socketId, roomCode, userId, level) {
      sample(track(socketId, roomCode, userId), level);
    },

    track,
    sample: (tracker, level) => sample(tracker as Entry, level),

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

    tune(roomCode, tuning) {
      const room = roomOptions(roomCode);
      const at = now();
      room.tunedAt = at;
      room.options.thresholdDb = tuning.thresholdDb ?? defaults.thresholdDb;
      room.options.minMs = tuning.minMs ?? defaults.minMs;
      // A run being counted becomes speech at its new due time (at once if that has passed).
      for (const entry of room.entries) schedule(entry, at);
    },

    close() {
      clearInterval(sweep);
      clearInterval(forgetUnused);
      byRoom.clear();
      for (const rooms of bySocket.values()) {
        for (const entry of rooms.values()) {
          entry.live = false;
          cancel(entry);
        }
      }
      bySocket.clear();
      speaking.clear();
    },
  };
}
