import { escapeHtml, renderInvitationEmail, type InvitationEmailInput } from '../../src/mail/invitation-email';

// docs/email.md "Calendar events": what an invitation, an update and a cancellation say, and the event they carry.

const roomId = '7a0c1f2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
const createdAt = new Date('2026-12-01T09:00:00.000Z');

function input(overrides: Partial<InvitationEmailInput> = {}): InvitationEmailInput {
  return {
    kind: 'invitation',
    token: 'tok_abc-123',
    invitee: { email: 'ann@example.com', displayName: 'Ann' },
    room: {
      id: roomId,
      roomCode: 'kq3ZpR7wXy2B',
      name: 'Weekly sync',
      createdAt,
      scheduledStartAt: new Date('2026-12-24T10:00:00.000Z'),
      scheduledEndAt: new Date('2026-12-24T10:30:00.000Z'),
    },
    hostName: 'Hana Host',
    queuedAt: new Date('2026-12-01T09:00:10.000Z'),
    publicBaseUrl: 'https://meet.example.com',
    from: { name: 'Meetings', address: 'meetings@example.com' },
    ...overrides,
  };
}

/** The calendar's content lines, unfolded (RFC 5545: a CRLF followed by one space continues the line). */
function lines(calendar: string): string[] {
  return calendar.replace(/\r\n[ \t]/g, '').split('\r\n');
}

/** The value of the first property named `name` (after its parameters). */
function property(calendar: string, name: string): string | undefined {
  const line = lines(calendar).find((l) => l.startsWith(`${name}:`) || l.startsWith(`${name};`));
  return line?.slice(line.indexOf(':') + 1);
}

describe('invitation email rendering', () => {
  it('an invitation: the link with its token in text and HTML, the host and room named', () => {
    const email = renderInvitationEmail(input());
    const link = 'https://meet.example.com/join/kq3ZpR7wXy2B?invitation=tok_abc-123';
    expect(email.subject).toBe('Hana Host invited you to "Weekly sync"');
    expect(email.text).toContain('Hello Ann,');
    expect(email.text).toContain(`Join the meeting: ${link}`);
    // ICU versions differ on the comma after the weekday.
    expect(email.text).toMatch(/When: Thursday,? 24 December 2026 at 10:00–10:30 UTC/);
    expect(email.html).toContain(`<a href="${link}">Join the meeting</a>`);
  });

  it('escapes every user-supplied string in the HTML, and keeps the subject on one line', () => {
    const email = renderInvitationEmail(
      input({
        room: { ...input().room, name: '<script>alert("x")</script> & co\r\nBcc: evil@example.com' },
        hostName: `O'Brien <b>`,
        invitee: { email: 'ann@example.com', displayName: '<img src=x onerror=alert(1)>' },
      }),
    );
    expect(email.html).not.toMatch(/<script|<img|<b>/);
    expect(email.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co Bcc: evil@example.com');
    expect(email.html).toContain('O&#39;Brien &lt;b&gt;');
    expect(email.html).toContain('Hello &lt;img src=x onerror=alert(1)&gt;,');
    expect(email.subject).not.toMatch(/[\r\n]/);
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('an update and a cancellation carry the room link without a token', () => {
    const update = renderInvitationEmail(input({ kind: 'update', token: null }));
    expect(update.subject).toBe('Updated: "Weekly sync"');
    expect(update.text).toContain('The link from your original invitation still works.');
    expect(update.text).toContain('Open the meeting: https://meet.example.com/join/kq3ZpR7wXy2B\n');
    expect(update.text).not.toContain('invitation=');
    const cancel = renderInvitationEmail(input({ kind: 'cancel', token: null }));
    expect(cancel.subject).toBe('Cancelled: "Weekly sync"');
    expect(cancel.text).toContain('The meeting is cancelled');
    expect(cancel.html).not.toContain('<a href');
  });

  it('has no calendar part for a room without a schedule', () => {
    const email = renderInvitationEmail(input({ room: { ...input().room, scheduledStartAt: null, scheduledEndAt: null } }));
    expect(email.calendar).toBeNull();
    expect(email.text).not.toContain('When:');
  });

  it('an invitation is a REQUEST for one VEVENT in UTC, organized by MAIL_FROM, attended by the invitee', () => {
    const { calendar } = renderInvitationEmail(input());
    expect(calendar?.method).toBe('REQUEST');
    const ics = calendar!.content;
    expect(lines(ics)[0]).toBe('BEGIN:VCALENDAR');
    expect(property(ics, 'METHOD')).toBe('REQUEST');
    expect(property(ics, 'PRODID')).toBe('-//meeting-rooms//invitations//EN');
    expect(lines(ics).filter((l) => l === 'BEGIN:VEVENT')).toHaveLength(1);
    expect(property(ics, 'UID')).toBe(`room-${roomId}@meeting-rooms`);
    expect(property(ics, 'SEQUENCE')).toBe('10');
    expect(property(ics, 'DTSTAMP')).toBe('20261201T090010Z');
    expect(property(ics, 'DTSTART')).toBe('20261224T100000Z');
    expect(property(ics, 'DTEND')).toBe('20261224T103000Z');
    expect(property(ics, 'SUMMARY')).toBe('Weekly sync');
    expect(property(ics, 'URL')).toBe('https://meet.example.com/join/kq3ZpR7wXy2B?invitation=tok_abc-123');
    expect(property(ics, 'DESCRIPTION')).toContain('https://meet.example.com/join/kq3ZpR7wXy2B?invitation=tok_abc-123');
    expect(property(ics, 'ORGANIZER')).toBe('mailto:meetings@example.com');
    expect(property(ics, 'ATTENDEE')?.toLowerCase()).toBe('mailto:ann@example.com');
    expect(property(ics, 'STATUS')).toBe('CONFIRMED');
  });

  it('keeps the UID across the invitation, an update and the cancellation; the SEQUENCE grows; a cancellation is CANCEL and CANCELLED', () => {
    const invitation = renderInvitationEmail(input()).calendar!.content;
    const update = renderInvitationEmail(input({ kind: 'update', token: null, queuedAt: new Date('2026-12-02T09:00:00.000Z') })).calendar!;
    const cancel = renderInvitationEmail(input({ kind: 'cancel', token: null, queuedAt: new Date('2026-12-03T09:00:00.000Z') })).calendar!;
    expect(new Set([invitation, update.content, cancel.content].map((ics) => property(ics, 'UID'))).size).toBe(1);
    const sequences = [invitation, update.content, cancel.content].map((ics) => Number(property(ics, 'SEQUENCE')));
    expect(sequences).toEqual([10, 86_400, 172_800]);
    expect(update.method).toBe('REQUEST');
    expect(property(update.content, 'URL')).toBe('https://meet.example.com/join/kq3ZpR7wXy2B');
    expect(cancel.method).toBe('CANCEL');
    expect(property(cancel.content, 'METHOD')).toBe('CANCEL');
    expect(property(cancel.content, 'STATUS')).toBe('CANCELLED');
  });

  it('places a meeting without a scheduled end as one hour long', () => {
    const { calendar } = renderInvitationEmail(input({ room: { ...input().room, scheduledEndAt: null } }));
    expect(property(calendar!.content, 'DTEND')).toBe('20261224T110000Z');
  });

  it('escapes , ; \\ and newlines and folds lines at 75 octets, multi-byte characters whole', () => {
    const name = `Plan, budget; C:\\temp\nnext line — ${'é'.repeat(60)} ${'😀'.repeat(30)}`;
    const ics = renderInvitationEmail(input({ room: { ...input().room, name } })).calendar!.content;
    for (const line of ics.split('\r\n')) expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(75);
    expect(ics).not.toContain('\uFFFD');
    // The room name is made one line for the summary; its , ; and \ are escaped.
    expect(property(ics, 'SUMMARY')).toBe(`Plan\\, budget\\; C:\\\\temp next line — ${'é'.repeat(60)} ${'😀'.repeat(30)}`);
    // The description keeps its lines, as \n.
    expect(property(ics, 'DESCRIPTION')).toMatch(/^Hana Host invited you.*\\nWhen: .*\\n\\nhttps:/);
  });
});
