import { createSpeakingDetectors, keepTunedMs, type SpeakingDetectors } from '../../src/realtime/speaking-detectors';
import { SpeakingDetector, speakingGapMs } from '../../src/realtime/speaking-detector';

/**
 * docs/realtime.md "Active speaker" on a fake clock: a participant speaks once their level has stayed at or above
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
    expect(detector.expire(799)).toBeNull();
    expect(detector.expire(800)).toEqual({ type: 'stopped' });
    expect(detector.speaking).toBe(false);
    expect(detector.expire(5_000)).toBeNull(); // nothing left to end
  });

  it('a run is due to become speech at its first sample + 300 ms, and expire() then starts it without a sample', () => {
    const detector = new SpeakingDetector(options);
    expect(detector.speechDueAt()).toBeNull();
    detector.sample(-30, 7);
    expect(detector.speechDueAt()).toBe(307);
    detector.sample(-10, 57); // continuing the run does not move it
    expect(detector.speechDueAt()).toBe(307);
    expect(detector.expire(306.9)).toBeNull();
    expect(detector.expire(307)).toEqual({ type: 'started', level: -20 });
    expect(detector.speaking).toBe(true);
    expect(detector.speechDueAt()).toBeNull();
    // Already speech: neither the sample that would have completed the run nor expire() starts it again.
    expect(detector.sample(-20, 307)).toBeNull();
    expect(detector.expire(350)).toBeNull();
  });

  it('a quiet sample before the due time cancels it; the next loud sample is due 300 ms later', () => {
    const detector = new SpeakingDetector(options);
    feed(detector, -20, 0, 250);
    detector.sample(-45, 280);
    expect(detector.speechDueAt()).toBeNull();
    expect(detector.expire(300)).toBeNull();
    expect(detector.speaking).toBe(false);
    detector.sample(-20, 290);
    expect(detector.speechDueAt()).toBe(590);
  });

  it('a 500 ms gap before the due time ends the run: expire() at the due time starts nothing', () => {
    const detector = new SpeakingDetector({ ...options, minMs: 800 });
    feed(detector, -20, 0, 200);
    expect(detector.speechDueAt()).toBe(800);
    expect(detector.expire(800)).toBeNull(); // silent since 200
    expect(detector.speechDueAt()).toBeNull();
    expect(detector.speaking).toBe(false);
    // 499 ms without a sample is no gap: the run lasts until its due time.
    const short = new SpeakingDetector({ ...options, minMs: 800 });
    feed(short, -20, 0, 250);
    short.sample(-20, 301);
    expect(short.expire(800)).toEqual({ type: 'started', level: -20 });
  });

  it('expire() called late, past the gap, still starts the speech that was due before the silence; the next call stops it', () => {
    // A lone loud sample at 0 is due at 300 and ends at 500; the timer runs at 900 (a stalled event loop).
    const detector = new SpeakingDetector(options);
    detector.sample(-20, 0);
    expect(detector.expire(900)).toEqual({ type: 'started', level: -20 });
    expect(detector.expire(900)).toEqual({ type: 'stopped' });
    expect(detector.speaking).toBe(false);
    // Due only after the silence (minMs 800, last sample 200: ended at 700): late or not, nothing starts.
    const long = new SpeakingDetector({ ...options, minMs: 800 });
    feed(long, -20, 0, 200);
    expect(long.expire(5_000)).toBeNull();
    expect(long.speaking).toBe(false);
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

describe('skipping quiet samples while idle', () => {
  it('changes nothing: a detector that skips them reports exactly what one fed every sample does', () => {
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 200; trial++) {
      const every = new SpeakingDetector(options);
      const skipping = new SpeakingDetector(options);
      let at = 0;
      for (let step = 0; step < 200; step++) {
        // Gaps from 0 to 700 ms, so runs both continue and break on the 500 ms gap.
        at += Math.floor(random() * random() * 700);
        if (random() < 0.2) {
          expect(skipping.expire(at)).toEqual(every.expire(at));
        } else {
          const level = random() < 0.5 ? -60 : random() < 0.5 ? -20 : -40 + (random() - 0.5) * 2;
          const expected = every.sample(level, at);
          if (level < options.thresholdDb && skipping.idle) expect(expected).toBeNull();
          else expect(skipping.sample(level, at)).toEqual(expected);
        }
        expect({ speaking: skipping.speaking, due: skipping.speechDueAt(), idle: skipping.idle }).toEqual({
          speaking: every.speaking,
          due: every.speechDueAt(),
          idle: every.idle,
        });
      }
    }
  });
});

describe('speaker detectors on a node', () => {
  // The detectors' clock and Jest's fake timers move together (advance()), except where a test
  // moves `clock` alone to put a sample before a timer due at the same millisecond.
  let clock = 0;
  const reports: string[] = [];
  let detectors: SpeakingDetectors;
  // The rooms whose channel has a socket of this node.
  const channels = new Set<string>();
  const inChannel = (room: string) => channels.has(room);

  const start = (minMs = 300) => {
    detectors = createSpeakingDetectors({
      options: { thresholdDb: -40, minMs },
      inChannel,
      now: () => clock,
      report: (room, user, change) => reports.push(`${clock} ${room}/${user} ${change.type}`),
    });
  };

  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
    clock = 0;
    reports.length = 0;
    channels.clear();
    channels.add('room-a');
    start();
  });
  afterEach(() => {
    detectors.close();
    jest.useRealTimers();
  });

  /** Moves both clocks on by `ms`, a millisecond at a time, running the timers due on the way. */
  const advance = (ms: number) => {
    for (const end = clock + ms; clock < end;) {
      clock += 1;
      jest.advanceTimersByTime(1);
    }
  };

  /** A level every 50 ms from now until `untilMs` inclusive; the clock stops at the last one. */
  const speak = (socket: string, room: string, user: string, level: number, untilMs: number) => {
    for (;;) {
      detectors.level(socket, room, user, level);
      if (clock + 50 > untilMs) return;
      advance(50);
    }
  };

  /** Timers other than the two sweeps' (silent speakers, unused tunings). */
  const pendingTimers = () => jest.getTimerCount() - 2;

  it('keeps one detector per socket and room, and reports only starts and stops', () => {
    speak('s1', 'room-a', 'ann', -20, 400);
    expect(reports).toEqual(['300 room-a/ann started']);
    advance(50);
    detectors.level('s1', 'room-b', 'ann', -20); // the same socket in another room counts on its own
    detectors.level('s2', 'room-a', 'bob', -20);
    expect(reports).toEqual(['300 room-a/ann started']);
  });

  it('a run starts at exactly its first sample + 300 ms, with no sample then', () => {
    advance(13);
    speak('s1', 'room-a', 'ann', -20, 263); // samples at 13, 63, …, 263; the next would come at 313
    advance(299 - (clock - 13));
    expect(reports).toEqual([]);
    advance(1);
    expect(reports).toEqual(['313 room-a/ann started']);
    expect(pendingTimers()).toBe(0);
    // A single loud sample is a run too: it lasts until a quiet sample or a 500 ms gap.
    detectors.level('s2', 'room-a', 'bob', -20);
    advance(300);
    expect(reports).toEqual(['313 room-a/ann started', '613 room-a/bob started']);
  });

  it('a quiet sample before the due time cancels the start', () => {
    speak('s1', 'room-a', 'ann', -20, 250);
    advance(30);
    detectors.level('s1', 'room-a', 'ann', -60);
    expect(pendingTimers()).toBe(0);
    advance(1_000);
    expect(reports).toEqual([]);
  });

  it('a 500 ms gap before the due time cancels the start', () => {
    detectors.close();
    start(800);
    speak('s1', 'room-a', 'ann', -20, 200);
    advance(2_000);
    expect(reports).toEqual([]);
    expect(pendingTimers()).toBe(0);
    // A loud sample after the gap is a new run, due 800 ms after it, however long the old one was.
    speak('s1', 'room-a', 'ann', -20, clock + 800);
    expect(reports).toEqual([`${clock} room-a/ann started`]);
  });

  it('forget() cancels a pending start; close() cancels them all', () => {
    speak('s1', 'room-a', 'ann', -20, 100);
    detectors.level('s2', 'room-a', 'bob', -20);
    detectors.level('s2', 'room-b', 'bob', -20);
    expect(pendingTimers()).toBe(3);
    detectors.forget('s1');
    detectors.forget('s2', 'room-b');
    expect(pendingTimers()).toBe(1);
    detectors.close();
    expect(jest.getTimerCount()).toBe(0);
    advance(1_000);
    expect(reports).toEqual([]);
  });

  it("a silent participant's levels read no clock and arm no timer", () => {
    detectors.close();
    let reads = 0;
    detectors = createSpeakingDetectors({ options: { thresholdDb: -40, minMs: 300 }, inChannel, now: () => (reads++, clock), report: () => {} });
    const tracker = detectors.track('s1', 'room-a', 'ann');
    const sweepReads = reads;
    for (let i = 0; i < 20; i++) detectors.sample(tracker, -60);
    expect(reads).toBe(sweepReads);
    detectors.sample(tracker, -20);
    expect(reads).toBe(sweepReads + 1);
    expect(pendingTimers()).toBe(1);
    // In a run, a quiet level counts: it ends the run.
    detectors.sample(tracker, -60);
    expect(reads).toBe(sweepReads + 2);
    expect(pendingTimers()).toBe(0);
  });

  it('a tracker takes levels without lookups until forget() drops it; tracking again starts afresh', () => {
    const tracker = detectors.track('s1', 'room-a', 'ann');
    expect(detectors.track('s1', 'room-a', 'ann')).toBe(tracker);
    expect(tracker).toMatchObject({ roomCode: 'room-a', live: true });
    for (; clock <= 300; advance(50)) detectors.sample(tracker, -20);
    expect(reports).toEqual(['300 room-a/ann started']);
    detectors.forget('s1', 'room-a');
    expect(reports).toEqual(['300 room-a/ann started', '350 room-a/ann stopped']);
    expect(tracker.live).toBe(false);
    // A dropped tracker counts nothing.
    for (let i = 0; i < 10; i++, advance(50)) detectors.sample(tracker, -20);
    expect(pendingTimers()).toBe(0);
    expect(reports).toHaveLength(2);
    const again = detectors.track('s1', 'room-a', 'ann');
    expect(again).not.toBe(tracker);
    detectors.sample(again, -20);
    expect(pendingTimers()).toBe(1);
    detectors.close();
    expect(again.live).toBe(false);
  });

  it('starts once when a sample arrives at the due time, before or after the timer', () => {
    // The timer first, then the sample of the same millisecond.
    speak('s1', 'room-a', 'ann', -20, 300);
    expect(reports).toEqual(['300 room-a/ann started']);
    // The sample first: it starts the run, and the timer is cleared.
    detectors.level('s2', 'room-a', 'bob', -20);
    advance(299);
    clock += 1;
    detectors.level('s2', 'room-a', 'bob', -20);
    expect(pendingTimers()).toBe(0);
    jest.advanceTimersByTime(1);
    advance(100);
    expect(reports).toEqual(['300 room-a/ann started', '600 room-a/bob started']);
  });

  it('a quiet sample stops a speaker', () => {
    speak('s1', 'room-a', 'ann', -20, 400);
    detectors.level('s1', 'room-a', 'ann', -41);
    expect(reports).toEqual(['300 room-a/ann started', '400 room-a/ann stopped']);
  });

  it('the sweep reports a speaker who went silent within gap + 100 ms', () => {
    speak('s1', 'room-a', 'ann', -20, 300);
    advance(499);
    expect(reports).toEqual(['300 room-a/ann started']);
    advance(100);
    expect(reports).toEqual(['300 room-a/ann started', '800 room-a/ann stopped']);
  });

  it('forgetting a speaking socket reports it stopped; a quiet one goes silently', () => {
    speak('s1', 'room-a', 'ann', -20, 300);
    speak('s2', 'room-a', 'bob', -60, 600);
    detectors.forget('s1');
    detectors.forget('s2', 'room-a');
    expect(reports).toEqual(['300 room-a/ann started', '600 room-a/ann stopped']);
  });

  it("a room's own tuning applies to its detectors only, also to those already counting", () => {
    detectors.tune('room-a', { thresholdDb: -30, minMs: 100 });
    channels.add('room-b');
    speak('s1', 'room-a', 'ann', -35, 400); // loud enough by default, not in room-a
    speak('s2', 'room-b', 'bob', -35, 700);
    expect(reports).toEqual(['700 room-b/bob started']);
    speak('s1', 'room-a', 'ann', -25, clock + 100);
    expect(reports).toEqual(['700 room-b/bob started', '800 room-a/ann started']);
    // A change reaches a detector in the middle of a run: the new minimum counts from the run's start.
    detectors.tune('room-b', { thresholdDb: null, minMs: 1_000 });
    detectors.level('s3', 'room-b', 'cy', -20);
    advance(300);
    detectors.tune('room-b', { thresholdDb: null, minMs: 200 });
    detectors.level('s3', 'room-b', 'cy', -20);
    expect(reports).toEqual(['700 room-b/bob started', '800 room-a/ann started', '1100 room-b/cy started']);
    // Null goes back to the node's defaults.
    detectors.tune('room-a', { thresholdDb: null, minMs: null });
    const at = clock;
    detectors.level('s4', 'room-a', 'dee', -35);
    advance(300);
    expect(reports.filter((report) => report.includes('dee'))).toEqual([`${at + 300} room-a/dee started`]);
  });

  it('a shorter minimum set mid-run makes the run speech at once, with no sample needed', () => {
    detectors.tune('room-a', { thresholdDb: null, minMs: 1_000 });
    detectors.level('s1', 'room-a', 'ann', -20); // one loud sample at 0: due at 1 000
    advance(400);
    expect(reports).toEqual([]);
    detectors.tune('room-a', { thresholdDb: null, minMs: 200 }); // due at 200, which has passed
    advance(1);
    expect(reports).toEqual(['401 room-a/ann started']);
    // A longer one moves the due time out: bob's run from 401, due at 601, now waits until 1 001.
    const bob = () => reports.filter((report) => report.includes('bob'));
    detectors.level('s2', 'room-a', 'bob', -20);
    advance(100);
    detectors.tune('room-a', { thresholdDb: null, minMs: 600 });
    for (let i = 0; i < 8; i++) {
      advance(50);
      detectors.level('s2', 'room-a', 'bob', -20);
    }
    expect(bob()).toEqual([]);
    advance(100);
    expect(bob()).toEqual(['1001 room-a/bob started']);
  });

  it('a tuning heard before the join it is for is kept 10 s; then only while the room has sockets or detectors here', () => {
    // Heard before any socket of room-z is here (the streams adapter does not order it with the join).
    detectors.tune('room-z', { thresholdDb: -10, minMs: null });
    advance(5_000);
    channels.add('room-z');
    speak('s1', 'room-z', 'ann', -20, clock + 400);
    expect(reports).toEqual([]);
    // Its detector is gone, but its socket is still in the channel: kept.
    detectors.forget('s1');
    advance(keepTunedMs * 2);
    speak('s2', 'room-z', 'bob', -20, clock + 400);
    expect(reports).toEqual([]);
    // Neither a socket nor a detector, and not tuned for 10 s: the next detector starts from the defaults.
    detectors.forget('s2');
    channels.delete('room-z');
    advance(keepTunedMs);
    channels.add('room-z');
    const at = clock;
    speak('s3', 'room-z', 'cy', -20, clock + 300);
    expect(reports).toEqual([`${at + 300} room-z/cy started`]);
  });

  it('on real timers, a lone loud sample becomes speech after minMs', async () => {
    jest.useRealTimers();
    detectors.close();
    const real = createSpeakingDetectors({
      options: { thresholdDb: -40, minMs: 20 },
      inChannel,
      report: (room, user, change) => reports.push(`${room}/${user} ${change.type}`),
    });
    try {
      real.level('s1', 'room-a', 'ann', -20);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(reports).toEqual(['room-a/ann started']);
    } finally {
      real.close();
    }
  });
});
