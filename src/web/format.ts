/** A timestamp in the reader's locale and time zone. */
export const formatTime = (iso: string): string => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** `1 h 05 min`, `12 min 30 s`, `45 s`. */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(s).padStart(2, '0')} s`;
  return `${s} s`;
}

/** Up to two initials for an avatar. */
export const initials = (name: string): string =>
  name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word[0]!.toUpperCase())
    .join('');

const day = (date: Date) => date.toLocaleDateString(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });
const clock = (date: Date) => date.toLocaleTimeString(undefined, { timeStyle: 'short' });

/** A planned meeting in the reader's locale and time zone: `{day: 'Mon, Dec 7, 2026', time: '9:30 AM – 10:30 AM'}` (the end's day only when it differs). */
export function formatSchedule(startIso: string, endIso: string | null): { day: string; time: string } {
  const start = new Date(startIso);
  if (endIso === null) return { day: day(start), time: clock(start) };
  const end = new Date(endIso);
  return { day: day(start), time: `${clock(start)} – ${day(end) === day(start) ? '' : `${day(end)}, `}${clock(end)}` };
}

/** An `<input type="datetime-local">` value (`2026-12-07T09:30`, the browser's local time) as ISO 8601 UTC. */
export function localDateTimeToIso(value: string): string {
  // A date-time with no offset is local time (ECMAScript's Date parsing rule for this form).
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new RangeError(`"${value}" is not a date and time`);
  return date.toISOString();
}

/** The reader's time zone as the browser names it (`Europe/Paris`). */
export const localTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;
