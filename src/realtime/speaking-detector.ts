/**
 * Whether one participant is speaking, from the levels their socket reports (docs/realtime.md "Active speaker"), on
 * the server's clock. Pure and synchronous, with no timers of its own: it runs for every
 * `audio:level` on the node that holds the socket, and only its starts and stops travel on to
 * the room.
 *
 * - A run of samples at or above the threshold that has lasted `minMs` is speech: the detector
 *   reports `started`, with the run's mean level so far. The run lasts from its first sample for
 *   as long as no lower sample and no gap of `gapMs` ends it, so it becomes speech at exactly
 *   `speechDueAt()` (first sample + minMs) whether or not a sample arrives then: the caller
 *   arms a timer for that time and calls `expire()`.
 * - A sample below the threshold, or no sample for `gapMs`, ends the run: `stopped` if it was
 *   speech. A silent gap is noticed by the next sample or by `expire()`.
 */

export interface SpeakingOptions {
  /** dBFS a level must reach (ACTIVE_SPEAKER_THRESHOLD_DB). */
  thresholdDb: number;
  /** How long a run must last to count as speech (ACTIVE_SPEAKER_MIN_MS). */
  minMs: number;
  /** How long without a sample ends a run. */
  gapMs: number;
}

export type SpeakingChange = { type: 'started'; level: number } | { type: 'stopped' };

/** docs/realtime.md "Active speaker": no sample for 500 ms restarts the count. */
export const speakingGapMs = 500;

const stopped: SpeakingChange = Object.freeze({ type: 'stopped' });

export class SpeakingDetector {
  private runStart: number | null = null;
  private lastSampleAt = Number.NEGATIVE_INFINITY;
  private levelSum = 0;
  private samples = 0;
  private speech = false;

  constructor(private readonly options: SpeakingOptions) {}

  get speaking(): boolean {
    return this.speech;
  }

  /**
   * No run is going (so not speaking either). A sample below the threshold then changes nothing
   * the detector will ever report: there is no run to end, and the next loud sample starts one
   * at its own time whenever the last sample was. The caller may skip such a sample.
   */
  get idle(): boolean {
    return this.runStart === null;
  }

  /**
   * When the current run becomes speech if nothing ends it first (server ms), or null when
   * there is no run, or it is speech already.
   */
  speechDueAt(): number | null {
    return this.runStart === null || this.speech ? null : this.runStart + this.options.minMs;
  }

  /** One reported level at server time `at` (ms, monotonic). */
  sample(level: number, at: number): SpeakingChange | null {
    const gapped = at - this.lastSampleAt >= this.options.gapMs;
    this.lastSampleAt = at;
    const wasSpeaking = this.speech;
    if (gapped || level < this.options.thresholdDb) this.reset();
    if (level >= this.options.thresholdDb) {
      this.runStart ??= at;
      this.levelSum += level;
      this.samples += 1;
      if (!this.speech && at - this.runStart >= this.options.minMs) {
        this.speech = true;
        // A run that ended and restarted long enough at once (minMs 0) is one continuous start.
        return wasSpeaking ? null : this.started();
      }
    }
    return wasSpeaking && !this.speech ? stopped : null;
  }

  /**
   * The state at server time `at` without a new sample: a run that has lasted `minMs` becomes
   * speech (`started`); a run that has gone `gapMs` without a sample ends (`stopped` if it was
   * speech). Called by the sweep and at `speechDueAt()`. A call that comes late (a busy event
   * loop) still starts speech that was due before the silence ended the run; the next call
   * stops it.
   */
  expire(at: number): SpeakingChange | null {
    if (this.runStart === null) return null;
    const dueAt = this.speechDueAt();
    const endsAt = this.lastSampleAt + this.options.gapMs;
    if (dueAt !== null && at >= dueAt && dueAt < endsAt) {
      this.speech = true;
      return this.started();
    }
    if (at >= endsAt) {
      const wasSpeaking = this.speech;
      this.reset();
      return wasSpeaking ? stopped : null;
    }
    return null;
  }

  private started(): SpeakingChange {
    return { type: 'started', level: this.levelSum / this.samples };
  }

  private reset() {
    this.runStart = null;
    this.levelSum = 0;
    this.samples = 0;
    this.speech = false;
  }
}
