import { defaultMeetingMs, meetingCalendar } from './invitation-calendar';
import type { MailKind } from './mail-outbox.entity';

/** Everything one email is made from, as the dispatcher reads it at send time. */
export interface InvitationEmailInput {
  kind: MailKind;
  /** The raw invitation token: kind `invitation` only (null for updates and cancellations). */
  token: string | null;
  invitee: { email: string; displayName: string | null };
  room: {
    id: string;
    roomCode: string;
    name: string;
    createdAt: Date;
    scheduledStartAt: Date | null;
    scheduledEndAt: Date | null;
  };
  hostName: string;
  /** When the outbox row was written: the calendar event's DTSTAMP, and its SEQUENCE counted from the room's creation. */
  queuedAt: Date;
  publicBaseUrl: string;
  from: { name: string; address: string };
}

/** A rendered email; `calendar` only for a scheduled room. */
export interface InvitationEmail {
  subject: string;
  text: string;
  html: string;
  calendar: { method: 'REQUEST' | 'CANCEL'; content: string } | null;
}

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe inside HTML elements and quoted attributes. */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => htmlEscapes[char]!);

/** Room and display names come from users: one line, whatever they typed (a subject must not break a header). */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

const dateTime = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', dateStyle: 'full', timeStyle: 'short' });
const time = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', timeStyle: 'short' });

/** `Thursday, 24 December 2026 at 10:00–11:00 UTC`, the same for every reader: the calendar part has it in their own time zone. */
function when(start: Date, end: Date): string {
  const sameDay = start.toISOString().slice(0, 10) === end.toISOString().slice(0, 10);
  return `${dateTime.format(start)}–${sameDay ? time.format(end) : dateTime.format(end)} UTC`;
}

/**
 * The link an email carries: an invitation's own, with its token (the join page takes it from
 * there), or, once the token is gone (updates, cancellations), the room's plain link.
 */
export function invitationLink(input: Pick<InvitationEmailInput, 'publicBaseUrl' | 'room' | 'token'>): string {
  const base = `${input.publicBaseUrl}/join/${encodeURIComponent(input.room.roomCode)}`;
  return input.token === null ? base : `${base}?invitation=${encodeURIComponent(input.token)}`;
}

/** The email for one outbox row: subject, plain text, HTML (every user-supplied string escaped) and, when scheduled, the calendar event. */
export function renderInvitationEmail(input: InvitationEmailInput): InvitationEmail {
  const room = oneLine(input.room.name);
  const host = oneLine(input.hostName);
  const greeting = input.invitee.displayName ? `Hello ${oneLine(input.invitee.displayName)},` : 'Hello,';
  const link = invitationLink(input);
  const start = input.room.scheduledStartAt;
  const end = start ? (input.room.scheduledEndAt ?? new Date(start.getTime() + defaultMeetingMs)) : null;
  const schedule = start && end ? when(start, end) : null;

  const { subject, lines } = wording(input.kind, room, host, schedule);
  const action = input.kind === 'cancel' ? null : input.kind === 'invitation' ? 'Join the meeting' : 'Open the meeting';
  const text = [greeting, '', ...lines, ...(action ? ['', `${action}: ${link}`] : []), ''].join('\n');
  const html = [
    '<!doctype html><html><body>',
    `<p>${escapeHtml(greeting)}</p>`,
    ...lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    ...(action ? [`<p><a href="${escapeHtml(link)}">${escapeHtml(action)}</a></p>`] : []),
    '</body></html>',
  ].join('\n');

  const calendar =
    start && end
      ? {
          method: input.kind === 'cancel' ? ('CANCEL' as const) : ('REQUEST' as const),
          content: meetingCalendar({
            method: input.kind === 'cancel' ? 'CANCEL' : 'REQUEST',
            roomId: input.room.id,
            sequence: Math.max(0, Math.floor((input.queuedAt.getTime() - input.room.createdAt.getTime()) / 1000)),
            stamp: input.queuedAt,
            start,
            end,
            summary: room,
            description: `${lines.join('\n')}\n\n${link}`,
            url: link,
            organizer: input.from,
            attendee: { name: input.invitee.displayName ? oneLine(input.invitee.displayName) : null, address: input.invitee.email },
          }),
        }
      : null;
  return { subject, text, html, calendar };
}

/** What each kind of email says, as plain lines (escaped for HTML by the caller). */
function wording(kind: MailKind, room: string, host: string, schedule: string | null): { subject: string; lines: string[] } {
  switch (kind) {
    case 'invitation':
      return {
        subject: `${host} invited you to "${room}"`,
        lines: [`${host} invited you to the meeting "${room}".`, ...(schedule ? [`When: ${schedule}`] : [])],
      };
    case 'update':
      return {
        subject: `Updated: "${room}"`,
        lines: [
          `${host} changed the meeting "${room}".`,
          ...(schedule ? [`New time: ${schedule}`] : []),
          'The link from your original invitation still works.',
        ],
      };
    case 'cancel':
      return {
        subject: `Cancelled: "${room}"`,
        lines: [`${host} cancelled the meeting "${room}"${schedule ? ` (${schedule})` : ''}.`, 'The meeting is cancelled: there is nothing to join.'],
      };
  }
}
