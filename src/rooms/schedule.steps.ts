import { unusedDeadlineOf, type RoomContext } from './room.types';
import { scheduleProblem, type Schedule, type SchedulePatch } from './schedule';
import { nothing, type Step } from './step-helpers';

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

/**
 * When a room ends at its scheduled end, and when everyone in it is warned: only an active room
 * whose host asked for it (`end_at_scheduled_end`) and that has a planned end. The warning comes
 * SCHEDULED_END_WARNING_S before, at once if that time has passed, and not at all once the end has.
 */
export function closingOf(c: Pick<RoomContext, 'startedAt' | 'endedAt' | 'schedule' | 'settings' | 'timings'>, at: number) {
  const endAt = c.schedule.endAt;
  if (c.startedAt === null || c.endedAt !== null || endAt === null || c.settings.end_at_scheduled_end !== true)
    return { closingDeadline: null, closingWarning: null };
  return { closingDeadline: endAt, closingWarning: endAt > at ? Math.max(at, endAt - c.timings.scheduledEndWarningMs) : null };
}

/** Warns everyone in the room that it ends at its scheduled end, once, when the warning is due. */
export const warnOfClosing =
  (at: number) =>
  (c: RoomContext): Step =>
    c.closingWarning !== null && c.closingDeadline !== null && at >= c.closingWarning
      ? { context: { closingWarning: null }, persist: [], notices: [{ type: 'room:ending', endsAt: c.closingDeadline }] }
      : nothing();
