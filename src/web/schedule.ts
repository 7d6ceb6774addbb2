import type { MeetingClient, RoomView } from '../client';
import { errorBox, field, h, onSubmit } from './dom';
import { formatSchedule, localDateTimeToIso, localTimeZone } from './format';
import { checkAddresses, inviteAddresses, showInviteResults } from './invitations';

/** How long a scheduled meeting is planned to last, in minutes; '' plans no end. */
const durations: [minutes: string, label: string][] = [
  ['', 'No set end'],
  ['15', '15 min'],
  ['30', '30 min'],
  ['45', '45 min'],
  ['60', '1 hour'],
  ['90', '1 hour 30 min'],
  ['120', '2 hours'],
  ['180', '3 hours'],
];

/** The API's field paths as this form names them, for the server's validation messages. */
const labels = { name: 'Meeting name', scheduled_start_at: 'Start', scheduled_end_at: 'End', invite_emails: 'Invite by email' };

/**
 * Plan a meeting for later: a name, a start in the browser's local time (sent as UTC), an
 * optional duration (sent as the planned end), the waiting room and, optionally, people to invite
 * by email (invited as soon as the room exists). The server checks the times (a start in the past
 * is its VALIDATION_FAILED, shown in the form). `onScheduled` gets the room.
 */
export function scheduleForm(client: MeetingClient, onScheduled: (room: RoomView) => void): HTMLFormElement {
  const duration = h(
    'select',
    { name: 'duration' },
    ...durations.map(([minutes, label]) => h('option', { value: minutes, selected: minutes === '60' }, label)),
  );
  const done = h('p', { class: 'ok field-note', role: 'status', 'data-scheduled': true, hidden: true });
  const invited = h('div', { class: 'invite-results', role: 'status', 'aria-live': 'polite', 'data-invite-results': true });
  const form = h(
    'form',
    { 'data-form': 'schedule', class: 'card' },
    h('h2', {}, 'Schedule a meeting'),
    field('Meeting name', h('input', { name: 'name', type: 'text', required: true, maxlength: 120, placeholder: 'Quarterly review' })),
    h(
      'div',
      { class: 'field-row' },
      field('Starts', h('input', { name: 'scheduled_start_at', type: 'datetime-local', required: true, 'aria-describedby': 'schedule-zone' })),
      field('Duration', duration),
    ),
    h('p', { class: 'hint field-note', id: 'schedule-zone' }, `In your time zone (${localTimeZone()}).`),
    field('Waiting room: I admit each guest', h('input', { name: 'lock_room', type: 'checkbox' })),
    field(
      'Invite by email (optional)',
      h('textarea', { name: 'invite_emails', rows: 2, placeholder: 'ann@example.org, bob@example.org', 'aria-describedby': 'schedule-invite-hint' }),
    ),
    h('p', { class: 'hint field-note', id: 'schedule-invite-hint' }, 'Separate addresses with commas, spaces or new lines. Invitees skip the waiting room.'),
    h('button', { type: 'submit', class: 'primary' }, 'Schedule meeting'),
    done,
    invited,
  );
  return onSubmit(
    form,
    async (values) => {
      done.hidden = true;
      invited.replaceChildren();
      const emails = String(values.invite_emails ?? '');
      // A typo in an address is found before the meeting is made.
      const invitees = checkAddresses(emails, 'invite_emails');
      const start = localDateTimeToIso(String(values.scheduled_start_at));
      const minutes = Number(values.duration || 0);
      const end = minutes > 0 ? new Date(Date.parse(start) + minutes * 60_000).toISOString() : undefined;
      const room = await client.meetings.create({
        name: String(values.name),
        settings: { lock_room: values.lock_room === true },
        scheduled_start_at: start,
        ...(end ? { scheduled_end_at: end } : {}),
      });
      form.reset();
      const when = formatSchedule(room.scheduled_start_at ?? start, room.scheduled_end_at);
      done.hidden = false;
      done.textContent = `Scheduled “${room.name}” for ${when.day}, ${when.time}. Its link is under Upcoming.`;
      onScheduled(room);
      if (invitees.length === 0) return;
      try {
        showInviteResults(invited, await inviteAddresses(client, room.room_code, emails, 'invite_emails'));
      } catch (error) {
        // The meeting exists: submitting again would make a second one.
        invited.replaceChildren(
          h('p', {}, 'The meeting is scheduled, but nobody was invited:'),
          errorBox(error, labels),
          h('p', { class: 'hint' }, 'Invite them from the meeting’s page: its panel has an invite form.'),
        );
      }
    },
    labels,
  );
}
