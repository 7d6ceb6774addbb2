/**
 * Whether one participant is speaking, from the levels their socket reports (DESIGN.md §8), on
 * the server's clock. Pure and synchronous: it runs for every `audio:level` on the node that
 * holds the socket, and only its starts and stops travel on to the room.
 *
 * - A run of samples at or above the threshold that has lasted `minMs` (first to latest sample)
 *   is speech: the detector reports `started`, with the run's mean level so far.
 * - A sample below the threshold, or no sample for `gapMs`, ends the run: `stopped` if it was
 *   speech. A silent gap is noticed by the next sample or by `expire()`, called on a timer.
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

/** DESIGN.md §8: no sample for 500 ms restarts the count. */
export const speakingGapMs = 500;

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
        return wasSpeaking ? null : { type: 'started', level: this.levelSum / this.samples };
      }
    }
    return wasSpeaking && !this.speech ? { type: 'stopped' } : null;
  }

  /** Ends speech that has had no sample for `gapMs`; true when it did (the caller reports `stopped`). */
  expire(at: number): boolean {
    if (!this.speech || at - this.lastSampleAt < this.options.gapMs) return false;
    this.reset();
    return true;
  }

  private reset() {
    this.runStart = null;
    this.levelSum = 0;
    this.samples = 0;
    this.speech = false;
  }
}
