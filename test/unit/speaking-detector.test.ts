import { createSpeakerDetection, type SpeakerDetection } from '../../src/realtime/speaker-detection';
import { SpeakingDetector, speakingGapMs } from '../../src/realtime/speaking-detector';

/**
 * DESIGN.md §8 on a fake clock: a participant speaks once their level has stayed at or above
 * the threshold (-40 dBFS) for 300 ms; a quiet sample or a 500 ms gap restarts the count.
 */

const options = { thresholdDb: -40, minMs: 300, gapMs: speakingGapMs };

/** Feeds `level` every `everyMs` from `from` to `to` inclusive; returns the changes with their times. */
function feed(detector: SpeakingDetector, level: number, from: number, to: number, everyMs = 50) {
  const changes: { at: number; change: ReturnType<SpeakingDetector['sample']> }[] = [];
  for (let at = from; at <= to; at += everyMs) {
    const change = detector.sample(level, at);
    if (change) changes.push({ at, change });
  }
  return changes;
}

describe('speaking detector', () => {
  it('starts after exactly 300 ms of loud samples, not one sample earlier', () => {
    const detector = new SpeakingDetector(options);
    expect(feed(detector, -20, 0, 250)).toEqual([]);
    expect(detector.speaking).toBe(false);
    expect(detector.sample(-20, 299)).toBeNull();
    expect(detector.sample(-20, 300)).toEqual({ type: 'started', level: -20 });
    expect(detector.speaking).toBe(true);
    // Speaking on is no news.
    expect(feed(detector, -20, 350, 2_000)).toEqual([]);
  });

  it('counts the threshold itself as loud, and a hair below as quiet', () => {
    const atThreshold = new SpeakingDetector(options);
    expect(feed(atThreshold, -40, 0, 300)).toEqual([{ at: 300, change: { type: 'started', level: -40 } }]);
    const below = new SpeakingDetector(options);
    expect(feed(below, -40.01, 0, 2_000)).toEqual([]);
  });

  it('never starts at -60 dBFS', () => {
    const detector = new SpeakingDetector(options);
    expect(feed(detector, -60, 0, 10_000)).toEqual([]);
  });

  it('reports the mean level of the run it started on', () => {
    const detector = new SpeakingDetector(options);
    const levels = [-30, -20, -10, -20, -30, -20, -10];
    const changes = levels.map((level, i) => detector.sample(level, i * 50)).filter(Boolean);
    expect(changes).toEqual([{ type: 'started', level: -20 }]);
  });

  it('a quiet sample restarts the count, and stops speech', () => {
    const detector = new SpeakingDetector(options);
    feed(detector, -20, 0, 250);
    expect(detector.sample(-50, 275)).toBeNull();
    // The count starts again at the next loud sample.
    expect(feed(detector, -20, 300, 550)).toEqual([]);
    expect(detector.sample(-20, 600)).toEqual({ type: 'started', level: -20 });
    expect(detector.sample(-41, 650)).toEqual({ type: 'stopped' });
    expect(detector.speaking).toBe(false);
  });

  it('a gap of 500 ms restarts the count; 499 ms does not', () => {
    const short = new SpeakingDetector(options);
    short.sample(-20, 0);
    expect(short.sample(-20, 299)).toBeNull();
    // 499 ms without a sample: still the same run, which has now lasted 798 ms.
    expect(short.sample(-20, 798)).toEqual({ type: 'started', level: -20 });

    const long = new SpeakingDetector(options);
    long.sample(-20, 0);
    long.sample(-20, 200);
    expect(long.sample(-20, 700)).toBeNull(); // 500 ms gap: a new run starts at 700
    expect(long.sample(-20, 999)).toBeNull();
    expect(long.sample(-20, 1_000)).toEqual({ type: 'started', level: -20 });
  });

  it('expire() ends speech after 500 ms without samples, and only then', () => {
    const detector = new SpeakingDetector(options);
    feed(detector, -20, 0, 300);
    expect(detector.speaking).toBe(true);
    expect(detector.expire(799)).toBe(false);
    expect(detector.expire(800)).toBe(true);
    expect(detector.speaking).toBe(false);
    expect(detector.expire(5_000)).toBe(false); // nothing left to end
  });

  it('a late loud sample after a gap reports the stop the sweep missed, then counts afresh', () => {
    const detector = new SpeakingDetector(options);
    feed(detector, -20, 0, 300);
    expect(detector.sample(-20, 900)).toEqual({ type: 'stopped' });
    expect(detector.sample(-20, 1_200)).toEqual({ type: 'started', level: -20 });
  });

  it('with ACTIVE_SPEAKER_MIN_MS=0 one loud sample is speech', () => {
    const detector = new SpeakingDetector({ ...options, minMs: 0 });
    expect(detector.sample(-30, 0)).toEqual({ type: 'started', level: -30 });
    // After a gap, a loud sample is speech again at once: no stop/start flicker.
    expect(detector.sample(-30, 1_000)).toBeNull();
    expect(detector.speaking).toBe(true);
  });
});

describe('speaker detection on a node', () => {
  let clock = 0;
  const reports: string[] = [];
  let detection: SpeakerDetection;

  beforeEach(() => {
    jest.useFakeTimers();
    clock = 0;
    reports.length = 0;
    detection = createSpeakerDetection({
      options: { thresholdDb: -40, minMs: 300 },
      now: () => clock,
      report: (room, user, change) => reports.push(`${room}/${user} ${change.type}`),
    });
  });
  afterEach(() => {
    detection.close();
    jest.useRealTimers();
  });

  const speak = (socket: string, room: string, user: string, level: number, untilMs: number) => {
    for (; clock <= untilMs; clock += 50) detection.level(socket, room, user, level);
    clock -= 50;
  };

  it('keeps one detector per socket and room, and reports only starts and stops', () => {
    speak('s1', 'room-a', 'ann', -20, 400);
    expect(reports).toEqual(['room-a/ann started']);
    clock += 50;
    detection.level('s1', 'room-b', 'ann', -20); // the same socket in another room counts on its own
    detection.level('s2', 'room-a', 'bob', -20);
    expect(reports).toEqual(['room-a/ann started']);
  });

  it('the sweep reports a speaker who went silent within gap + 100 ms', () => {
    speak('s1', 'room-a', 'ann', -20, 300);
    clock += 499;
    jest.advanceTimersByTime(100);
    expect(reports).toEqual(['room-a/ann started']);
    clock += 100;
    jest.advanceTimersByTime(100);
    expect(reports).toEqual(['room-a/ann started', 'room-a/ann stopped']);
  });

  it('forgetting a speaking socket reports it stopped; a quiet one goes silently', () => {
    speak('s1', 'room-a', 'ann', -20, 300);
    speak('s2', 'room-a', 'bob', -60, 600);
    detection.forget('s1');
    detection.forget('s2', 'room-a');
    expect(reports).toEqual(['room-a/ann started', 'room-a/ann stopped']);
  });
});
