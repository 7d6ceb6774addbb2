import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Client } from 'pg';
import pino from 'pino';
import type { Mailer } from '../../src/mail/mailer';
import { createSql, type Sql } from '../../src/persistence/sql';
import { waitFor } from '../support/db';
import { testDatabaseUrl } from '../support/env';
import { createRoom, hostUser } from '../support/meetings';
import { startServer, type TestServer } from '../support/server';
import { smtpUser, startSmtpServer, type ReceivedMail, type TestSmtpServer } from '../support/smtp-server';

// docs/email.md: invitation emails from a PostgreSQL outbox, sent through a real SMTP server, retried, never lost.

const mailFrom = 'Meetings <meetings@example.com>';
const noCondition = { sql: '', params: [] };
let db: Client;
const servers: TestServer[] = [];
const smtps: TestSmtpServer[] = [];
const invitationIds: string[] = [];

beforeAll(async () => {
  db = new Client({ connectionString: testDatabaseUrl });
  await db.connect();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(smtps.splice(0).map((smtp) => smtp.stop()));
  // What a test left queued must not reach another test's SMTP server.
  await db.query(`delete from mail_outbox where status = 'pending' and invitation_id = any($1::uuid[])`, [invitationIds.splice(0)]);
});

afterAll(() => db.end());

async function smtpServer(options: { listening?: boolean } = {}): Promise<TestSmtpServer> {
  const smtp = await startSmtpServer(options);
  smtps.push(smtp);
  return smtp;
}

/** A node with mail on, sending through `smtp`; its Mailer, plain SQL on its pool, and every line it logged (at info, as in production). */
async function mailNode(smtp: TestSmtpServer, env: Record<string, string> = {}): Promise<{ server: TestServer; mailer: Mailer; sql: Sql; logs: string[] }> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const server = await startServer(
    { SMTP_URL: smtp.url, MAIL_FROM: mailFrom, MAIL_RETRY_BASE_MS: '50', PUBLIC_BASE_URL: 'https://meet.example.com', ...env },
    pino({ level: 'info' }, sink),
  );
  servers.push(server);
  expect(server.app.mailer).not.toBeNull();
  return { server, mailer: server.app.mailer!, sql: createSql(server.app.orm), logs };
}

/** A room made through the API by a new host; `schedule` sets its scheduled start (and end) with SQL. */
async function room(server: TestServer, name: string, schedule?: { start: string; end?: string }): Promise<{ id: string; code: string }> {
  const host = await hostUser(server, 'Hana Host');
  const code = (await createRoom(server, host, { name })).room_code;
  const { rows } = await db.query<{ id: string }>(`select id from rooms where room_code = $1`, [code]);
  const id = rows[0]!.id;
  if (schedule) await db.query(`update rooms set scheduled_start_at = $2, scheduled_end_at = $3 where id = $1`, [id, schedule.start, schedule.end ?? null]);
  return { id, code };
}

/** An invitation row as the invitations service writes it: the token's SHA-256 only. */
async function invite(
  roomId: string,
  options: { status?: 'pending' | 'accepted' | 'revoked'; expired?: boolean; name?: string | null } = {},
): Promise<{ id: string; token: string; email: string }> {
  const id = randomUUID();
  const token = randomBytes(24).toString('base64url');
  const email = `invitee-${id}@example.test`;
  await db.query(
    `insert into invitations (id, room_id, email, display_name, token_hash, status, created_at, expires_at)
     values ($1, $2, $3, $4, $5, $6, now(), now() + make_interval(days => $7))`,
    [
      id,
      roomId,
      email,
      options.name === undefined ? 'Ann' : options.name,
      createHash('sha256').update(token).digest(),
      options.status ?? 'pending',
      options.expired ? -1 : 7,
    ],
  );
  invitationIds.push(id);
  return { id, token, email };
}

interface OutboxRow {
  kind: string;
  status: string;
  attempts: number;
  token: string | null;
  last_error: string | null;
  created_at: Date;
  next_attempt_at: Date;
  sent_at: Date | null;
}

const outboxRows = async (invitationId: string) =>
  (
    await db.query<OutboxRow>(
      `select kind, status, attempts, token, last_error, created_at, next_attempt_at, sent_at from mail_outbox where invitation_id = $1 order by seq`,
      [invitationId],
    )
  ).rows;

/** The text/calendar alternative of a message (unfolded), or undefined. */
function calendarOf(mail: ReceivedMail): string | undefined {
  const part = mail.parsed.attachments.find((attachment) => attachment.contentType === 'text/calendar');
  return part?.content.toString('utf8').replace(/\r\n[ \t]/g, '');
}

const icalProperty = (ics: string, name: string) => new RegExp(`^${name}[:;](?:[^:\\r\\n]*:)?(.*)$`, 'm').exec(ics)?.[1]?.trim();

describe('invitation email', () => {
  it('sends a queued invitation through SMTP: text, HTML and the calendar REQUEST; the row is then sent and its token erased', async () => {
    const smtp = await smtpServer();
    const { server, mailer, sql, logs } = await mailNode(smtp);
    const { id: roomId, code } = await room(servers[0]!, 'Budget <review>', { start: '2026-12-24T10:00:00Z', end: '2026-12-24T10:45:00Z' });
    const ann = await invite(roomId);
    // A condition that does not hold writes nothing: the caller's other writes did not happen either.
    const [skipped] = await sql.batch([mailer.invitationEmails([{ invitationId: ann.id, token: ann.token }], { sql: ' and false', params: [] })]);
    expect(skipped!.rowCount).toBe(0);
    const [written] = await sql.batch([mailer.invitationEmails([{ invitationId: ann.id, token: ann.token }], { sql: ' and ? = ?', params: [1, 1] })]);
    expect(written!.rowCount).toBe(1);
    expect(await outboxRows(ann.id)).toEqual([expect.objectContaining({ kind: 'invitation', status: 'pending', token: ann.token })]);
    mailer.wake();

    await waitFor(async () => smtp.to(ann.email).length === 1, 15_000);
    const [mail] = smtp.to(ann.email);
    expect(mail!.from).toBe('meetings@example.com');
    expect(mail!.user).toBe(smtpUser);
    expect(mail!.parsed.from?.value).toEqual([{ name: 'Meetings', address: 'meetings@example.com' }]);
    expect(mail!.parsed.subject).toBe('Hana Host invited you to "Budget <review>"');
    const link = `https://meet.example.com/join/${code}?invitation=${ann.token}`;
    expect(mail!.parsed.text).toContain(link);
    expect(mail!.parsed.html).toContain(`href="${link}"`);
    expect(mail!.parsed.html).toContain('Budget &lt;review&gt;');
    expect(mail!.raw).toMatch(/^Content-Type: text\/calendar; charset=utf-8; method=REQUEST/m);
    const ics = calendarOf(mail!);
    expect(icalProperty(ics!, 'METHOD')).toBe('REQUEST');
    expect(icalProperty(ics!, 'UID')).toBe(`room-${roomId}@meeting-rooms`);
    expect(icalProperty(ics!, 'DTSTART')).toBe('20261224T100000Z');
    expect(icalProperty(ics!, 'DTEND')).toBe('20261224T104500Z');
    expect(icalProperty(ics!, 'ATTENDEE')?.toLowerCase()).toBe(`mailto:${ann.email}`);

    await waitFor(async () => (await outboxRows(ann.id))[0]?.status === 'sent');
    expect(await outboxRows(ann.id)).toEqual([
      expect.objectContaining({ status: 'sent', attempts: 1, token: null, last_error: null, sent_at: expect.any(Date) }),
    ]);

    // The logs name the invitation, never its token or link.
    expect(logs.some((line) => line.includes(ann.id) && line.includes('invitation email sent'))).toBe(true);
    expect(logs.join('')).not.toContain(ann.token);
    const metrics = (await server.request('GET', '/metrics')).body as string;
    expect(Number(/^mail_attempts_total\{outcome="sent",node="[^"]+"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^mail_outbox_pending\{node="[^"]+"\} \d+$/m);
  });

  it('has no calendar part for a room without a schedule', async () => {
    const smtp = await smtpServer();
    const { mailer, sql } = await mailNode(smtp);
    const { id: roomId } = await room(servers[0]!, 'Ad hoc');
    const bob = await invite(roomId, { name: null });
    await sql.batch([mailer.invitationEmails([{ invitationId: bob.id, token: bob.token }], noCondition)]);
    mailer.wake();
    await waitFor(async () => smtp.to(bob.email).length === 1, 15_000);
    const [mail] = smtp.to(bob.email);
    expect(mail!.parsed.text).toMatch(/^Hello,/);
    expect(calendarOf(mail!)).toBeUndefined();
    expect(mail!.raw).not.toContain('text/calendar');
  });

  it('retries a refused email with growing delays, then leaves it failed with the last error after MAIL_MAX_ATTEMPTS', async () => {
    const smtp = await smtpServer();
    const baseMs = 200;
    const { mailer, sql, logs } = await mailNode(smtp, { MAIL_MAX_ATTEMPTS: '3', MAIL_RETRY_BASE_MS: String(baseMs) });
    const { id: roomId } = await room(servers[0]!, 'Refused');
    const carl = await invite(roomId);
    // What the row says when each retry arrives: the next_attempt_at the attempt before it set.
    const seenAtAttempt: OutboxRow[] = [];
    smtp.refuse = async (recipient) => {
      if (recipient !== carl.email) return null;
      seenAtAttempt.push((await outboxRows(carl.id))[0]!);
      return { code: 451, message: 'try again later' };
    };
    await sql.batch([mailer.invitationEmails([{ invitationId: carl.id, token: carl.token }], noCondition)]);
    mailer.wake();

    await waitFor(async () => (await outboxRows(carl.id))[0]?.status === 'failed', 15_000);
    const [row] = await outboxRows(carl.id);
    expect(row).toMatchObject({ status: 'failed', attempts: 3, token: null, sent_at: null });
    expect(row!.last_error).toMatch(/451/);
    expect(smtp.recipients.filter((recipient) => recipient === carl.email)).toHaveLength(3);
    expect(smtp.to(carl.email)).toEqual([]);
    // Backoff: the first retry waits at least half the base, the second at least the base more.
    const [first, second, third] = seenAtAttempt.map((seen) => seen.next_attempt_at.getTime());
    expect(seenAtAttempt.map((seen) => seen.attempts)).toEqual([1, 2, 3]);
    expect(second! - row!.created_at.getTime()).toBeGreaterThanOrEqual(baseMs / 2);
    expect(third! - second!).toBeGreaterThanOrEqual(baseMs);
    expect(first).toBeLessThan(second!);
    expect(seenAtAttempt[1]!.last_error).toMatch(/451/);
    expect(logs.some((line) => line.includes(carl.id) && line.includes('failed for good'))).toBe(true);
    expect(logs.join('')).not.toContain(carl.token);
  });

  it('gives up at once on an address the server refuses for good (5xx to RCPT TO)', async () => {
    const smtp = await smtpServer();
    const { mailer, sql } = await mailNode(smtp);
    const { id: roomId } = await room(servers[0]!, 'No such mailbox');
    const ivy = await invite(roomId);
    smtp.refuse = (recipient) => (recipient === ivy.email ? { code: 550, message: 'no such mailbox' } : null);
    await sql.batch([mailer.invitationEmails([{ invitationId: ivy.id, token: ivy.token }], noCondition)]);
    mailer.wake();
    await waitFor(async () => (await outboxRows(ivy.id))[0]?.status === 'failed', 15_000);
    const [row] = await outboxRows(ivy.id);
    expect(row).toMatchObject({ status: 'failed', attempts: 1, token: null });
    expect(row!.last_error).toMatch(/^550/);
  });

  it('never loses an email queued while the SMTP server is down: it is sent once the server comes up', async () => {
    const smtp = await smtpServer({ listening: false });
    const { mailer, sql } = await mailNode(smtp, { MAIL_MAX_ATTEMPTS: '30' });
    const { id: roomId } = await room(servers[0]!, 'Outage');
    const dana = await invite(roomId);
    await sql.batch([mailer.invitationEmails([{ invitationId: dana.id, token: dana.token }], noCondition)]);
    mailer.wake();
    await waitFor(async () => ((await outboxRows(dana.id))[0]?.attempts ?? 0) >= 2, 15_000);
    const [waiting] = await outboxRows(dana.id);
    expect(waiting).toMatchObject({ status: 'pending', token: dana.token });
    expect(waiting!.last_error).toMatch(/ECONNREFUSED|connect/i);

    await smtp.start();
    await waitFor(async () => smtp.to(dana.email).length === 1, 15_000);
    expect(smtp.to(dana.email)[0]!.parsed.text).toContain(`invitation=${dana.token}`);
    await waitFor(async () => (await outboxRows(dana.id))[0]?.status === 'sent');
    expect((await outboxRows(dana.id))[0]).toMatchObject({ token: null, last_error: null });
  });

  it('tells standing invitees of an update (REQUEST, higher SEQUENCE, no token) and of the cancellation (CANCEL)', async () => {
    const smtp = await smtpServer();
    const { mailer, sql } = await mailNode(smtp);
    const { id: roomId, code } = await room(servers[0]!, 'Planning', { start: '2026-12-24T10:00:00Z' });
    const erin = await invite(roomId);
    const frank = await invite(roomId, { status: 'accepted' });
    const expired = await invite(roomId, { expired: true });
    const revoked = await invite(roomId, { status: 'revoked' });
    await sql.batch([mailer.invitationEmails([{ invitationId: erin.id, token: erin.token }], noCondition)]);
    mailer.wake();
    await waitFor(async () => smtp.to(erin.email).length === 1, 15_000);
    const invitationSequence = Number(icalProperty(calendarOf(smtp.to(erin.email)[0]!)!, 'SEQUENCE'));

    /** Waits until the database clock is a whole second past `sequence` seconds after the room's creation: a later email's SEQUENCE is then higher. */
    const pastSequence = (sequence: number) =>
      waitFor(async () => {
        const { rows } = await db.query<{ s: number }>(`select floor(extract(epoch from now() - created_at))::int as s from rooms where id = $1`, [roomId]);
        return rows[0]!.s > sequence;
      }, 5000);

    await pastSequence(invitationSequence);
    await db.query(`update rooms set scheduled_start_at = '2026-12-28T15:00:00Z', scheduled_end_at = '2026-12-28T16:00:00Z' where id = $1`, [roomId]);
    const [updates] = await sql.batch([mailer.scheduleEmails(roomId, 'update', noCondition)]);
    expect(updates!.rowCount).toBe(2);
    mailer.wake();
    await waitFor(async () => smtp.to(erin.email).length === 2 && smtp.to(frank.email).length === 1, 15_000);
    const update = smtp.to(erin.email)[1]!;
    expect(update.parsed.subject).toBe('Updated: "Planning"');
    expect(update.parsed.text).toContain('The link from your original invitation still works.');
    expect(update.parsed.text).toContain(`https://meet.example.com/join/${code}\n`);
    expect(update.raw).not.toContain('invitation=');
    const updateIcs = calendarOf(update)!;
    expect(icalProperty(updateIcs, 'METHOD')).toBe('REQUEST');
    expect(icalProperty(updateIcs, 'UID')).toBe(`room-${roomId}@meeting-rooms`);
    expect(icalProperty(updateIcs, 'DTSTART')).toBe('20261228T150000Z');
    const updateSequence = Number(icalProperty(updateIcs, 'SEQUENCE'));
    expect(updateSequence).toBeGreaterThan(invitationSequence);

    await pastSequence(updateSequence);
    await sql.batch([mailer.scheduleEmails(roomId, 'cancel', noCondition)]);
    mailer.wake();
    await waitFor(async () => smtp.to(erin.email).length === 3 && smtp.to(frank.email).length === 2, 15_000);
    const cancel = smtp.to(frank.email)[1]!;
    expect(cancel.parsed.subject).toBe('Cancelled: "Planning"');
    expect(cancel.raw).toMatch(/^Content-Type: text\/calendar; charset=utf-8; method=CANCEL/m);
    const cancelIcs = calendarOf(cancel)!;
    expect(icalProperty(cancelIcs, 'METHOD')).toBe('CANCEL');
    expect(icalProperty(cancelIcs, 'STATUS')).toBe('CANCELLED');
    expect(icalProperty(cancelIcs, 'UID')).toBe(`room-${roomId}@meeting-rooms`);
    expect(Number(icalProperty(cancelIcs, 'SEQUENCE'))).toBeGreaterThan(updateSequence);

    // The expired and the revoked invitation heard of neither.
    expect(await outboxRows(expired.id)).toEqual([]);
    expect(await outboxRows(revoked.id)).toEqual([]);
    await waitFor(async () => (await outboxRows(erin.id)).every((row) => row.status === 'sent'));
    expect((await outboxRows(erin.id)).map((row) => [row.kind, row.status, row.token])).toEqual([
      ['invitation', 'sent', null],
      ['update', 'sent', null],
      ['cancel', 'sent', null],
    ]);
  });

  it('does not send the email of an invitation revoked before it went out', async () => {
    const smtp = await smtpServer();
    const { mailer, sql } = await mailNode(smtp);
    const { id: roomId } = await room(servers[0]!, 'Revoked');
    const gus = await invite(roomId);
    const hal = await invite(roomId);
    // Queued and revoked in one transaction: the dispatcher never sees it standing.
    await sql.batch([
      mailer.invitationEmails(
        [
          { invitationId: gus.id, token: gus.token },
          { invitationId: hal.id, token: hal.token },
        ],
        noCondition,
      ),
      [`update invitations set status = 'revoked', revoked_at = now() where id = ?`, [gus.id]],
    ]);
    mailer.wake();
    await waitFor(async () => smtp.to(hal.email).length === 1, 15_000);
    await waitFor(async () => (await outboxRows(gus.id))[0]?.status === 'failed');
    expect(await outboxRows(gus.id)).toEqual([expect.objectContaining({ status: 'failed', last_error: 'revoked', token: null })]);
    expect(smtp.recipients).not.toContain(gus.email);
  });

  it('sends each email once when several nodes dispatch the same outbox', async () => {
    const smtp = await smtpServer();
    const nodes = [await mailNode(smtp), await mailNode(smtp), await mailNode(smtp)];
    const { id: roomId } = await room(servers[0]!, 'Busy');
    const invitees = await Promise.all(Array.from({ length: 12 }, () => invite(roomId)));
    await nodes[0]!.sql.batch([
      nodes[0]!.mailer.invitationEmails(
        invitees.map(({ id, token }) => ({ invitationId: id, token })),
        noCondition,
      ),
    ]);
    for (const node of nodes) node.mailer.wake();
    await waitFor(async () => {
      const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from mail_outbox where invitation_id = any($1::uuid[]) and status = 'sent'`, [
        invitees.map(({ id }) => id),
      ]);
      return rows[0]!.n === invitees.length;
    }, 15_000);
    for (const invitee of invitees) expect(smtp.to(invitee.email)).toHaveLength(1);
  });

  it('deletes sent and failed rows older than MAIL_RETENTION_DAYS, and keeps the rest', async () => {
    const smtp = await smtpServer();
    // The rows exist before the mail node starts: it prunes at once, then every minute.
    const plain = await startServer();
    servers.push(plain);
    const { id: roomId } = await room(plain, 'Retention');
    const old = await invite(roomId);
    const row = async (status: string, ageDays: number) =>
      (
        await db.query<{ seq: string }>(
          `insert into mail_outbox (id, invitation_id, kind, status, created_at) values (gen_random_uuid(), $1, 'update', $2, now() - make_interval(days => $3)) returning seq`,
          [old.id, status, ageDays],
        )
      ).rows[0]!.seq;
    const oldSent = await row('sent', 3);
    const oldFailed = await row('failed', 3);
    const recent = await row('sent', 1);
    await mailNode(smtp, { MAIL_RETENTION_DAYS: '2' });
    const left = async () =>
      (await db.query<{ seq: string }>(`select seq from mail_outbox where invitation_id = $1 order by seq`, [old.id])).rows.map((r) => r.seq);
    await waitFor(async () => !(await left()).includes(oldSent));
    expect(await left()).not.toContain(oldFailed);
    expect(await left()).toEqual([recent]);
  });

  it('queues nothing and runs no dispatcher without SMTP_URL', async () => {
    const server = await startServer();
    servers.push(server);
    expect(server.app.mailer).toBeNull();
  });
});
