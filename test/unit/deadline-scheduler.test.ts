import { createDeadlineScheduler } from '../../src/rooms/deadline-scheduler';

describe('deadline scheduler', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  const setup = () => {
    const fired: string[] = [];
    const scheduler = createDeadlineScheduler((code) => fired.push(code), Date.now);
    return { fired, scheduler };
  };

  it('fires once when the deadline is due, not before', () => {
    const { fired, scheduler } = setup();
    scheduler.arm('room', Date.now() + 500);
    scheduler.arm('room', Date.now() + 500); // the same deadline again: still one timer
    jest.advanceTimersByTime(499);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(fired).toEqual(['room']);
    jest.advanceTimersByTime(10_000);
    expect(fired).toEqual(['room']);
  });

  it('a new deadline replaces the old one; null clears it; a past one fires at once', () => {
    const { fired, scheduler } = setup();
    scheduler.arm('a', Date.now() + 100);
    scheduler.arm('a', Date.now() + 300);
    scheduler.arm('b', Date.now() + 100);
    scheduler.arm('b', null);
    scheduler.arm('c', Date.now() - 5);
    jest.advanceTimersByTime(0);
    expect(fired).toEqual(['c']);
    jest.advanceTimersByTime(200);
    expect(fired).toEqual(['c']);
    jest.advanceTimersByTime(100);
    expect(fired).toEqual(['c', 'a']);
  });

  it('waits out deadlines beyond what one setTimeout can hold', () => {
    const { fired, scheduler } = setup();
    const far = 2 ** 31 + 60_000;
    scheduler.arm('far', Date.now() + far);
    jest.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(far - (2 ** 31 - 1));
    expect(fired).toEqual(['far']);
  });

  it('clear() stops every timer', () => {
    const { fired, scheduler } = setup();
    scheduler.arm('x', Date.now() + 10);
    scheduler.clear();
    jest.advanceTimersByTime(1_000);
    expect(fired).toEqual([]);
  });
});
