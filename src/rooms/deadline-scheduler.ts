/**
 * Turns each room's stored deadline (the empty-room timeout) into a timer on this node. The
 * deadline itself lives in the room's context and live state, so a room activated elsewhere
 * re-arms it; the timer only sends `expire` through the room's router when it is due.
 */
export interface DeadlineScheduler {
  /** Sets (or with null clears) the room's next deadline, replacing any earlier one. */
  arm(roomCode: string, at: number | null): void;
  clear(): void;
}

/** setTimeout cannot wait longer than 2^31-1 ms; a longer deadline is re-armed when that wait ends. */
const longestWaitMs = 2 ** 31 - 1;

export function createDeadlineScheduler(fire: (roomCode: string) => void, now: () => number): DeadlineScheduler {
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  const arm = (roomCode: string, at: number | null) => {
    const current = timers.get(roomCode);
    if (current?.at === at) return;
    if (current) clearTimeout(current.timer);
    timers.delete(roomCode);
    if (at === null) return;
    const wait = Math.max(0, at - now());
    const timer = setTimeout(
      () => {
        timers.delete(roomCode);
        if (wait > longestWaitMs) arm(roomCode, at);
        else fire(roomCode);
      },
      Math.min(wait, longestWaitMs),
    );
    timer.unref();
    timers.set(roomCode, { at, timer });
  };
  return {
    arm,
    clear() {
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
