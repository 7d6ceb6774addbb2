import { scheduleProblem, unusedDeadlineOf, type RoomContext, type Schedule, type SchedulePatch } from './room.types';

/**
 * Pure rules for a room's schedule (docs/api.md "Scheduled meetings"): what a change makes of it,
 * and whether the change is allowed. See step-helpers.ts for what a step is.
 */

/** The schedule after a change: an absent key keeps its value, and clearing the start clears the end. */
export function withSchedule(current: Schedule, patch: SchedulePatch | undefined): Schedule {
  if (!patch) return current;
  const startAt = patch.startAt === undefined ? current.startAt : patch.startAt;
  const endAt = patch.endAt !== undefined ? patch.endAt : patch.startAt === null ? null : current.endAt;
  return { startAt, endAt };
}

export const sameSchedule = (a: Schedule, b: Schedule): boolean => a.startAt === b.startAt && a.endAt === b.endAt;

/**
 * Why the host may not change the schedule this way at `at`, as `field message`, or null. A
 * meeting that has started keeps its start: only its planned end may move.
 */
export function scheduleRefusal(c: RoomContext, patch: SchedulePatch | undefined, at: number): string | null {
  const next = withSchedule(c.schedule, patch);
  if (sameSchedule(next, c.schedule)) return null;
  const changedStart = next.startAt !== c.schedule.startAt;
  if (changedStart && c.startedAt !== null) return 'scheduled_start_at cannot change once the meeting has started';
  const problem = scheduleProblem(next, at, changedStart);
  return problem && `${problem.path} ${problem.message}`;
}

/** The context patch of a schedule change: the schedule, and a pending room's unused-room deadline counted from its new start. */
export const rescheduled = (c: RoomContext, schedule: Schedule): Partial<RoomContext> =>
  c.startedAt === null && c.endedAt === null ? { schedule, unusedDeadline: unusedDeadlineOf({ createdAt: c.createdAt, schedule }, c.timings) } : { schedule };
