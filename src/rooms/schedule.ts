/**
 * A meeting's schedule and what makes one valid (docs/api.md "Scheduled meetings"): plain data and
 * one pure check, shared by the room machine (schedule.steps.ts) and creating a room (meetings.service.ts).
 */

/**
 * When the host plans the meeting (docs/api.md "Scheduled meetings"), epoch ms; both null: not
 * scheduled. An end needs a start. A plan, not a rule: the room starts when the host joins.
 */
export interface Schedule {
  startAt: number | null;
  endAt: number | null;
}

/** A schedule change (PATCH config): an absent key keeps its value; a null start clears the schedule. */
export interface SchedulePatch {
  startAt?: number | null;
  endAt?: number | null;
}

/** How far ahead a meeting may be scheduled: a year and a day. */
export const scheduleHorizonMs = 366 * 86_400_000;

/**
 * What is wrong with a schedule set at `now`, or null: a start in the future within the horizon,
 * an end after the start. `changedStart`: whether the start is being set now (one set earlier may
 * have passed: a meeting that has started keeps it).
 */
export function scheduleProblem(schedule: Schedule, now: number, changedStart: boolean): { path: string; message: string } | null {
  const { startAt, endAt } = schedule;
  if (startAt === null) return endAt === null ? null : { path: 'scheduled_end_at', message: 'needs a scheduled_start_at' };
  if (changedStart && startAt <= now) return { path: 'scheduled_start_at', message: 'must be in the future' };
  if (startAt > now + scheduleHorizonMs) return { path: 'scheduled_start_at', message: 'must be at most 366 days ahead' };
  if (endAt !== null && endAt <= startAt) return { path: 'scheduled_end_at', message: 'must be after scheduled_start_at' };
  if (endAt !== null && endAt <= now) return { path: 'scheduled_end_at', message: 'must be in the future' };
  if (endAt !== null && endAt > startAt + scheduleHorizonMs) return { path: 'scheduled_end_at', message: 'must be at most 366 days after the start' };
  return null;
}
