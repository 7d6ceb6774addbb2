import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { retryDelayMs, startOutboxWorker } from '../persistence/outbox-worker';
import type { NamedStatement, Sql } from '../persistence/sql';
import { renderInvitationEmail } from './invitation-email';
import type { MailKind } from './mail-outbox.entity';

export interface MailDispatcherOptions {
  sql: Sql;
  /** SMTP_URL: `smtp://` or `smtps://`, credentials in the URL. */
  smtpUrl: string;
  from: { name: string; address: string };
  /** Read at send time: the links of an email point where the node is reached now. */
  publicBaseUrl: () => string;
  logger: Logger;
  registry: Registry;
  /** Attempts before a row stays `failed`, its last error kept. */
  maxAttempts: number;
  /** The first retry's delay; each next one doubles, up to an hour, less up to half at random. */
  retryBaseMs: number;
  /** Sent and failed rows older than this are deleted. */
  retentionMs: number;
}

export interface MailDispatcher {
  /** Looks for due emails now rather than at the next poll (after a transaction that queued some). */
  wake(): void;
  /** Stops polling and waits for the attempts in flight. */
  close(): Promise<void>;
}

const pollEveryMs = 1000;
const pruneEveryMs = 60_000;
const maxRetryDelayMs = 3600_000;
/** Emails in flight at once per node: invitations come in handfuls, and SMTP servers throttle eager clients. */
const concurrency = 4;
// One attempt is bounded by these (nodemailer's defaults are minutes); its lease outlasts them.
const smtpTimeouts = { connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 30_000 };
const leaseS = 120;

/** Timestamps as the ORM's pool returns them: strings (its pg type parsers), which Date reads either way. */
type Timestamp = Date | string;
const asDate = (value: Timestamp) => new Date(value);

interface Claimed {
  seq: string;
  id: string;
  kind: MailKind;
  token: string | null;
  attempts: number;
  queued_at: Timestamp;
  invitation_id: string;
  email: string;
  display_name: string | null;
  invitation_status: 'pending' | 'accepted' | 'revoked';
  expired: boolean;
  room_id: string;
  room_code: string;
  room_name: string;
  room_created_at: Timestamp;
  scheduled_start_at: Timestamp | null;
  scheduled_end_at: Timestamp | null;
  host_name: string | null;
}

// Due rows not leased, oldest first, leased to this node, with what their email is made of (the
// invitation, its room and its host) read in the same statement. Rows another node is claiming
// are skipped, not waited for.
const claimDue: NamedStatement = {
  name: 'mail.claim',
  text: `with claimed as (
           update mail_outbox m
              set leased_until = now() + make_interval(secs => $1::double precision), attempts = m.attempts + 1
            where m.seq in (select seq from mail_outbox
                             where status = 'pending' and next_attempt_at <= now() and (leased_until is null or leased_until < now())
                             order by next_attempt_at, seq
                             limit $2
                             for update skip locked)
        returning m.seq, m.id, m.invitation_id, m.kind, m.token, m.attempts, m.created_at)
         select c.seq, c.id, c.kind, c.token, c.attempts, c.created_at as queued_at, c.invitation_id,
                i.email, i.display_name, i.status as invitation_status, (i.status = 'pending' and i.expires_at <= now()) as expired,
                r.id as room_id, r.room_code, r.name as room_name, r.created_at as room_created_at, r.scheduled_start_at, r.scheduled_end_at,
                u.display_name as host_name
           from claimed c
           join invitations i on i.id = c.invitation_id
           join rooms r on r.id = i.room_id
           left join users u on u.id = r.host_id`,
};
// Each outcome applies only to the attempt this node made: after a lapsed lease another node's is
// newer. Sent or failed, the token is erased with the same write (docs/email.md "Where the token rests").
const markSent: NamedStatement = {
  name: 'mail.sent',
  text: `update mail_outbox set status = 'sent', sent_at = now(), token = null, leased_until = null, last_error = null
          where seq = $1 and attempts = $2 and status = 'pending'`,
};
const markRetry: NamedStatement = {
  name: 'mail.retry',
  text: `update mail_outbox set next_attempt_at = now() + make_interval(secs => $3::double precision), leased_until = null, last_error = $4
          where seq = $1 and attempts = $2 and status = 'pending'`,
};
const markFailed: NamedStatement = {
  name: 'mail.failed',
  text: `update mail_outbox set status = 'failed', token = null, leased_until = null, last_error = $3
          where seq = $1 and attempts = $2 and status = 'pending'`,
};
const prune: NamedStatement = {
  name: 'mail.prune',
  text: `delete from mail_outbox where status <> 'pending' and created_at < now() - make_interval(secs => $1::double precision)`,
};
const countPending: NamedStatement = { name: 'mail.pending', text: `select count(*)::int as pending from mail_outbox where status = 'pending'` };

/** Why a claimed row is not sent at all (docs/email.md "The outbox"), or null to send it. */
function skipReason(row: Claimed): string | null {
  if (row.invitation_status === 'revoked') return 'revoked';
  if (row.kind === 'invitation' && row.expired) return 'expired';
  // Cannot happen through invitationEmailsInsert; a row without its token would send a dead link.
  if (row.kind === 'invitation' && row.token === null) return 'no token';
  return null;
}

/**
 * Sends the mail outbox's rows (mail-outbox.ts) on every node: claims due rows with
 * `FOR UPDATE SKIP LOCKED` under a lease, renders each from the current invitation and room, sends
 * it through SMTP, and records the outcome. A failed attempt is retried with exponential backoff
 * and jitter; after `maxAttempts` the row stays `failed` with its last error. A node that dies
 * mid-attempt leaves its lease to lapse and another node sends the row again: at least once.
 */
export function createMailDispatcher(options: MailDispatcherOptions): MailDispatcher {
  const { sql, logger } = options;
  const transport = createTransport({ url: options.smtpUrl, ...smtpTimeouts });

  const attempts = new Counter({
    name: 'mail_attempts_total',
    help: 'Invitation email attempts by outcome: sent, retry (failed, will be retried), failed (gave up) or skipped (invitation revoked or expired)',
    labelNames: ['outcome'] as const,
    registers: [options.registry],
  });
  new Gauge({
    name: 'mail_outbox_pending',
    help: 'Invitation emails not yet sent or given up (all nodes)',
    registers: [options.registry],
    async collect() {
      const { rows } = await sql.query<{ pending: number }>(countPending, []);
      this.set(rows[0]?.pending ?? 0);
    },
  });

  /** One attempt at one row. Logs name the invitation, never its token or link. */
  async function send(row: Claimed): Promise<void> {
    const context = { invitation_id: row.invitation_id, mail_id: row.id, kind: row.kind, attempt: row.attempts };
    const skip = skipReason(row);
    if (skip !== null) {
      attempts.inc({ outcome: 'skipped' });
      logger.info({ ...context, reason: skip }, 'invitation email not sent');
      await sql.query(markFailed, [row.seq, row.attempts, skip]);
      return;
    }
    let failure: string | null = null;
    let permanent = false;
    try {
      const email = renderInvitationEmail({
        kind: row.kind,
        token: row.kind === 'invitation' ? row.token : null,
        invitee: { email: row.email, displayName: row.display_name },
        room: {
          id: row.room_id,
          roomCode: row.room_code,
          name: row.room_name,
          createdAt: asDate(row.room_created_at),
          scheduledStartAt: row.scheduled_start_at === null ? null : asDate(row.scheduled_start_at),
          scheduledEndAt: row.scheduled_end_at === null ? null : asDate(row.scheduled_end_at),
        },
        hostName: row.host_name ?? 'Your host',
        queuedAt: asDate(row.queued_at),
        publicBaseUrl: options.publicBaseUrl(),
        from: options.from,
      });
      await transport.sendMail({
        // A copy: nodemailer normalises the address objects it is given in place, and the config's are frozen.
        from: { ...options.from },
        to: { name: row.display_name ?? '', address: row.email },
        subject: email.subject,
        text: email.text,
        html: email.html,
        // The same on every attempt, so a repeat after a lapsed lease can be recognised as one.
        messageId: `<${row.id}@${options.from.address.split('@')[1]}>`,
        ...(email.calendar ? { icalEvent: { method: email.calendar.method, content: email.calendar.content, filename: 'invite.ics' } } : {}),
      });
    } catch (error) {
      const { response, message, command, responseCode } = error as { response?: string; message?: string; command?: string; responseCode?: number };
      failure = response ?? message ?? String(error);
      // A 5xx to RCPT TO is this address refused for good (no such mailbox): retrying for an hour
      // would change nothing. Any other failure (the server, its credentials, a 4xx) may pass.
      permanent = command === 'RCPT TO' && (responseCode ?? 0) >= 500;
    }
    if (failure === null) {
      attempts.inc({ outcome: 'sent' });
      logger.info(context, 'invitation email sent');
      await sql.query(markSent, [row.seq, row.attempts]);
    } else if (permanent || row.attempts >= options.maxAttempts) {
      attempts.inc({ outcome: 'failed' });
      logger.error({ ...context, failure }, 'invitation email failed for good');
      await sql.query(markFailed, [row.seq, row.attempts, failure]);
    } else {
      attempts.inc({ outcome: 'retry' });
      const delayMs = retryDelayMs(options.retryBaseMs, row.attempts, maxRetryDelayMs);
      logger.warn({ ...context, failure, retry_in_ms: Math.round(delayMs) }, 'invitation email failed; will retry');
      await sql.query(markRetry, [row.seq, row.attempts, delayMs / 1000, failure]);
    }
  }

  const worker = startOutboxWorker<Claimed>({
    name: 'mail',
    concurrency,
    pollEveryMs,
    pruneEveryMs,
    claim: async (free) => (await sql.query<Claimed>(claimDue, [leaseS, free])).rows,
    work: send,
    prune: () => sql.query(prune, [options.retentionMs / 1000]),
    logger,
    describe: (row) => ({ invitation_id: row.invitation_id }),
  });
  return {
    wake: () => worker.wake(),
    async close() {
      await worker.close();
      transport.close();
    },
  };
}
