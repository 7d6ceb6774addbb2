import { book, burst, eventsPerSecond } from '../../src/realtime/socket-guard';

/**
 * The per-socket flood limit: 100 events a second on average, in bursts of up to 200, as a token
 * bucket that starts full. `book` keeps it as one booking time (whole ms).
 */
describe('flood limit', () => {
  /** A socket's limit: `take(at)` is whether an event at `at` ms is within it. */
  const budget = () => {
    let booked = 0;
    return (at: number) => {
      const next = book(booked, at);
      if (next < 0) return false;
      booked = next;
      return true;
    };
  };
  const takeAll = (take: (at: number) => boolean, count: number, at: number) => {
    let taken = 0;
    for (let i = 0; i < count; i++) if (take(at)) taken += 1;
    return taken;
  };

  it('is 100/s with bursts of 200', () => {
    expect({ eventsPerSecond, burst }).toEqual({ eventsPerSecond: 100, burst: 200 });
  });

  it('lets a burst of 200 through at once, and not the 201st', () => {
    const take = budget();
    expect(takeAll(take, 200, 5_000)).toBe(200);
    expect(take(5_000)).toBe(false);
  });

  it('starts full, whenever the socket connects', () => {
    expect(takeAll(budget(), 1000, 0)).toBe(200);
    expect(takeAll(budget(), 1000, 123_456_789)).toBe(200);
  });

  it('refills at 100 a second, one event per 10 ms', () => {
    const take = budget();
    takeAll(take, 200, 0);
    expect(take(9)).toBe(false);
    expect(take(10)).toBe(true);
    expect(take(10)).toBe(false);
    expect(take(19)).toBe(false);
    expect(take(20)).toBe(true);
    expect(takeAll(take, 1000, 1020)).toBe(100);
  });

  it('never holds more than 200, however long the socket was quiet', () => {
    const take = budget();
    takeAll(take, 50, 0);
    expect(takeAll(take, 1000, 3_600_000)).toBe(200);
  });

  it('keeps a steady 100/s for ever, and cuts a steady 101/s once the burst is spent', () => {
    const steady = budget();
    let refused = 0;
    for (let i = 1; i <= 100 * 600; i++) if (!steady(i * 10)) refused += 1;
    expect(refused).toBe(0);
    // 1/s over the rate spends the burst of 200 in about 200 s.
    const over = budget();
    let firstRefusal = Number.NaN;
    for (let i = 1; i <= 101 * 600 && Number.isNaN(firstRefusal); i++) {
      const at = Math.floor((i * 1000) / 101);
      if (!over(at)) firstRefusal = at;
    }
    expect(firstRefusal / 1000).toBeGreaterThan(195);
    expect(firstRefusal / 1000).toBeLessThan(205);
  });

  it('an event over the limit books nothing: the socket is within it again one interval later', () => {
    const take = budget();
    takeAll(take, 200, 0);
    expect(take(5)).toBe(false);
    expect(take(10)).toBe(true);
  });

  it('matches a token bucket of 200 refilled at 100/s on random traffic', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const take = budget();
    // The reference bucket counts tenths of a token (one per ms at 100/s), so it adds exactly.
    let tenths = burst * 10;
    let last = 0;
    let at = 0;
    for (let i = 0; i < 20_000; i++) {
      at += random() < 0.5 ? 0 : Math.floor(random() * 25);
      tenths = Math.min(burst * 10, tenths + ((at - last) * eventsPerSecond) / 100);
      last = at;
      const expected = tenths >= 10;
      if (expected) tenths -= 10;
      expect(take(at)).toBe(expected);
    }
  });
});
