import ical, { ICalAttendeeRole, ICalAttendeeStatus, ICalCalendarMethod, ICalEventStatus } from 'ical-generator';

/** What a calendar needs to place (or remove) a scheduled meeting: docs/email.md "Calendar events". */
export interface MeetingEvent {
  method: 'REQUEST' | 'CANCEL';
  roomId: string;
  /** Whole seconds, growing with each email of the room, so a calendar applies them in order. */
  sequence: number;
  /** When this version of the event was made: the outbox row's creation. */
  stamp: Date;
  start: Date;
  end: Date;
  summary: string;
  description: string;
  url: string;
  organizer: { name: string; address: string };
  attendee: { name: string | null; address: string };
}

/** A meeting without a scheduled end is placed in calendars as one hour long. */
export const defaultMeetingMs = 3600_000;

/** The event's UID: one per room, the same in the invitation, every update and the cancellation. */
export const meetingUid = (roomId: string) => `room-${roomId}@meeting-rooms`;

/**
 * The meeting as an iCalendar object (RFC 5545, with the iTIP method of RFC 5546): one VEVENT in
 * UTC. ical-generator does the escaping and the folding at 75 octets that hand-written iCalendar
 * gets wrong.
 */
export function meetingCalendar(event: MeetingEvent): string {
  const calendar = ical({
    prodId: { company: 'meeting-rooms', product: 'invitations', language: 'EN' },
    method: event.method === 'CANCEL' ? ICalCalendarMethod.CANCEL : ICalCalendarMethod.REQUEST,
  });
  calendar.createEvent({
    id: meetingUid(event.roomId),
    sequence: event.sequence,
    stamp: event.stamp,
    start: event.start,
    end: event.end,
    summary: event.summary,
    description: event.description,
    url: event.url,
    organizer: { name: event.organizer.name || event.organizer.address, email: event.organizer.address },
    // No RSVP: replies would go to MAIL_FROM, where nothing reads them.
    attendees: [
      {
        email: event.attendee.address,
        ...(event.attendee.name ? { name: event.attendee.name } : {}),
        role: ICalAttendeeRole.REQ,
        status: ICalAttendeeStatus.NEEDSACTION,
        rsvp: false,
      },
    ],
    status: event.method === 'CANCEL' ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
  });
  return calendar.toString();
}
