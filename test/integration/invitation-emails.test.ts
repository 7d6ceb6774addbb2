import { waitFor } from '../support/db';
import { createRoom, guestUser, hostUser, meetings, type Actor } from '../support/meetings';
import { startServer, type TestServer } from '../support/server';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp-server';

/**
 * docs/email.md through the API: with SMTP configured, inviting someone emails them their link
 * (the same link the API answered with), the host's list shows the email's fate, and a scheduled
 * meeting's invitees get a calendar update when it moves and a cancellation when it is called off.
 */
let smtp: TestSmtpServer;
let server: TestServer;

beforeAll(async () => {
  smtp = await startSmtpServer();
  server = await startServer({ SMTP_URL: smtp.url, MAIL_FROM: 'Meetings <meetings@example.com>', MAIL_RETRY_BASE_MS: '50', MAIL_MAX_ATTEMPTS: '2' });
});
afterAll(async () => {
  await server?.close();
  await smtp?.stop();
});

const inHours = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
const invite = (host: Actor, code: string, emails: string[]) =>
  meetings(server)(host, 'POST', `/${code}/invitations`, { invitees: emails.map((email) => ({ email })) });
const calendarOf = (address: string, index: number) => smtp.to(address)[index]!.raw.replace(/=\r?\n/g, '');

it('an invitation is emailed with the link the API answered with; the host sees it sent', async () => {
  const host = await hostUser(server, 'Hana');
  const room = await createRoom(server, host, { name: 'Design crit', settings: { lock_room: true } });
  const response = await invite(host, room.room_code, ['ann@mail.example']);
  expect(response.status).toBe(201);
  const [invitation] = response.body.invitations;
  expect(invitation.email_status).toBe('pending');

  await waitFor(async () => smtp.to('ann@mail.example').length === 1, 15_000);
  const [mail] = smtp.to('ann@mail.example');
  expect(mail!.parsed.text).toContain(invitation.invite_url);
  expect(mail!.parsed.html).toContain(invitation.invite_url.replaceAll('&', '&amp;'));
  expect(mail!.parsed.subject).toContain('Design crit');
  // Not scheduled: no calendar part.
  expect(mail!.raw).not.toContain('BEGIN:VCALENDAR');
  await waitFor(async () => (await meetings(server)(host, 'GET', `/${room.room_code}/invitations`)).body.invitations[0].email_status === 'sent');
});

it('an address the SMTP server refuses for good shows as failed, with its reason', async () => {
  smtp.refuse = (recipient) => (recipient === 'nobody@mail.example' ? { code: 550, message: 'No such mailbox' } : null);
  const host = await hostUser(server, 'Hugo');
  const room = await createRoom(server, host, { name: 'Retro' });
  await invite(host, room.room_code, ['nobody@mail.example']);
  await waitFor(async () => (await meetings(server)(host, 'GET', `/${room.room_code}/invitations`)).body.invitations[0].email_status === 'failed', 15_000);
  const [listed] = (await meetings(server)(host, 'GET', `/${room.room_code}/invitations`)).body.invitations;
  expect(listed.email_error).toContain('No such mailbox');
});

it("a scheduled meeting's invitees get the calendar request, an update when it moves and a cancellation when it is called off", async () => {
  const host = await hostUser(server, 'Ines');
  const room = await createRoom(server, host, { name: 'Quarterly', scheduled_start_at: inHours(24), scheduled_end_at: inHours(25) });
  await invite(host, room.room_code, ['cal@mail.example']);
  await waitFor(async () => smtp.to('cal@mail.example').length === 1, 15_000);
  expect(calendarOf('cal@mail.example', 0)).toContain('METHOD:REQUEST');

  // A change of the schedule, through the room's actor, queues an update in the same commit.
  await new Promise((resolve) => setTimeout(resolve, 1_100)); // SEQUENCE counts whole seconds
  expect((await meetings(server)(host, 'PATCH', `/${room.room_code}/config`, { scheduled_start_at: inHours(48), scheduled_end_at: null })).status).toBe(200);
  await waitFor(async () => smtp.to('cal@mail.example').length === 2, 15_000);
  const update = calendarOf('cal@mail.example', 1);
  expect(update).toContain('METHOD:REQUEST');
  const uid = (text: string) => /UID:(.+)/.exec(text)![1]!.trim();
  const sequence = (text: string) => Number(/SEQUENCE:(\d+)/.exec(text)![1]);
  expect(uid(update)).toBe(uid(calendarOf('cal@mail.example', 0)));
  expect(sequence(update)).toBeGreaterThan(sequence(calendarOf('cal@mail.example', 0)));

  // A settings change alone mails nobody; ending before it started cancels.
  expect((await meetings(server)(host, 'PATCH', `/${room.room_code}/config`, { enable_transcription: true })).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  expect((await meetings(server)(host, 'POST', `/${room.room_code}/end`)).status).toBe(200);
  await waitFor(async () => smtp.to('cal@mail.example').length === 3, 15_000);
  expect(calendarOf('cal@mail.example', 2)).toContain('METHOD:CANCEL');
  expect(uid(calendarOf('cal@mail.example', 2))).toBe(uid(update));
});

it('a meeting that ran is not cancelled when it ends', async () => {
  const host = await hostUser(server, 'Jon');
  const room = await createRoom(server, host, { name: 'Held', scheduled_start_at: inHours(1) });
  await invite(host, room.room_code, ['held@mail.example']);
  await waitFor(async () => smtp.to('held@mail.example').length === 1, 15_000);
  expect((await meetings(server)(host, 'POST', `/${room.room_code}/join`, {})).body.status).toBe('joined');
  const guest = await guestUser(server, 'G');
  expect((await meetings(server)(guest, 'GET', `/${room.room_code}`)).status).toBe(200);
  expect((await meetings(server)(host, 'POST', `/${room.room_code}/end`)).status).toBe(200);
  // Emails go out in the order they were queued: once one queued after the end has arrived, a cancellation would have too.
  await invite(host, (await createRoom(server, host, { name: 'Marker' })).room_code, ['marker@mail.example']);
  await waitFor(async () => smtp.to('marker@mail.example').length === 1, 15_000);
  expect(smtp.to('held@mail.example')).toHaveLength(1);
});
