import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { retryDelayMs, startOutboxWorker } from '../persistence/outbox-worker';
import type { NamedStatement, Sql } from '../persistence/sql';
import { signWebhook } from './signature';
import { createWebhookPoster } from './webhook-post';

export interface WebhookDispatcherOptions {
  sql: Sql;
  secret: string;
  /** How many endpoints each event goes to (WEBHOOK_URL): a room has one queue per endpoint. */
  endpoints: number;
  logger: Logger;
  registry: Registry;
  /** How long one attempt may take before it counts as failed. */
  timeoutMs: number;
  /** Attempts before a delivery stays `failed` (replayable with `npm run webhooks -- replay`). */
  maxAttempts: number;
  /** The first retry's delay; each next one doubles, up to 15 minutes, less up to half at random. */
  retryBaseMs: number;
  /** Delivered and failed rows older than this are deleted. */
  retentionMs: number;
}

export interface WebhookDispatcher {
  /**
   * Rows were committed (for `roomCode`'s queues, when given): looks for due deliveries now rather
   * than at the next poll, unless this node is delivering every queue of that room already, whose
   * drains take the new rows as they go.
   */
  wake(roomCode?: string): void;
  /** Stops polling and waits for the attempts in flight. */
  close(): Promise<void>;
}

const pollEveryMs = 500;
const pruneEveryMs = 60_000;
const maxRetryDelayMs = 15 * 60_000;
/** Attempts in flight at once per node: a receiver that hangs holds one of them per room, not the queue. */
const concurrency = 16;
/** Past its timeout, an attempt's row stays leased this much longer before another node may take it. */
const leaseSlackMs = 5_000;

interface Claimed {
  seq: string;
  event_id: string;
  endpoint: string;
  room_code: string;
  body: string;
  attempts: number;
}

const claimed = 'd.seq, d.event_id, d.endpoint, d.room_code, d.body::text as body, d.attempts';

// The heads of the (endpoint, room) queues (their first pending rows) that are due and not leased,
// oldest first, leased to this node. Rows another node is claiming are skipped, not waited for; a
// leased head keeps the rest of its queue waiting. The heads are found by skipping through the
// queue index from one queue to the next (a recursive CTE), so a claim costs one index descent
// per queue, not a read of every pending row: a room with a long backlog being delivered would
// otherwise make every claim read its whole backlog (10 ms per claim at 500 rows).
const claimHeads: NamedStatement = {
  name: 'webhooks.claim',
  text: `with recursive heads as (
           (select endpoint, room_code, seq from webhook_deliveries
             where status = 'pending' order by endpoint, room_code, seq limit 1)
           union all
           select next.* from heads, lateral (
             select endpoint, room_code, seq from webhook_deliveries
              where status = 'pending' and (endpoint, room_code) > (heads.endpoint, heads.room_code)
              order by endpoint, room_code, seq limit 1) next)
         update webhook_deliveries d
            set leased_until = now() + make_interval(secs => $1::double precision), attempts = d.attempts + 1
          where d.seq = any(array(
            select w.seq from webhook_deliveries w
             where w.seq = any(array(select seq from heads))
               and w.next_attempt_at <= now() and (w.leased_until is null or w.leased_until < now())
             order by w.seq
             limit $2
             for update skip locked))
      returning ${claimed}`,
};
// Each outcome applies only to the attempt this node made: after a lapsed lease another node's is
// newer. A delivered row's queue goes on at once: the same statement leases its next row, if due
// (the outer query does not see the CTE's update, hence "after $1").
const deliveredThenNext: NamedStatement = {
  name: 'webhooks.delivered',
  text: `with done as (
           update webhook_deliveries set status = 'delivered', delivered_at = now(), leased_until = null, last_error = null
            where seq = $1 and attempts = $2 and status = 'pending'
        returning endpoint, room_code)
         update webhook_deliveries d
            set leased_until = now() + make_interval(secs => $3::double precision), attempts = d.attempts + 1
          where d.seq = (select w.seq from webhook_deliveries w join done on w.endpoint = done.endpoint and w.room_code = done.room_code
                          where w.status = 'pending' and w.seq > $1 order by w.seq limit 1 for update skip locked)
            and d.next_attempt_at <= now() and (d.leased_until is null or d.leased_until < now())
      returning ${claimed}`,
};
const markRetry: NamedStatement = {
  name: 'webhooks.retry',
  text: `update webhook_deliveries set next_attempt_at = now() + make_interval(secs => $3::double precision), leased_until = null, last_error = $4
          where seq = $1 and attempts = $2 and status = 'pending'`,
};
const markFailed: NamedStatement = {
  name: 'webhooks.failed',
  text: `update webhook_deliveries set status = 'failed', leased_until = null, last_error = $3
          where seq = $1 and attempts = $2 and status = 'pending'`,
};
const prune: NamedStatement = {
  name: 'webhooks.prune',
  text: `delete from webhook_deliveries where status <> 'pending' and created_at < now() - make_interval(secs => $1::double precision)`,
};
const countPending: NamedStatement = { name: 'webhooks.pending', text: `select count(*)::int as pending from webhook_deliveries where status = 'pending'` };

/**
 * Posts the outbox's rows (webhook-outbox.ts) on every node: claims due rows with
 * `FOR UPDATE SKIP LOCKED` under a lease, posts each signed, and records the outcome. A room's
 * events reach an endpoint in order; a failed attempt is retried with exponential backoff and
 * jitter, and after `maxAttempts` the row stays `failed`. A node that dies mid-attempt leaves
 * its lease to lapse, and another node posts the row again: delivery is at least once, a
 * repeat carrying the same `Webhook-Id`.
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { sql, logger, timeoutMs } = options;
  const leaseS = (timeoutMs + leaseSlackMs) / 1000;
  const poster = createWebhookPoster(timeoutMs);

  const attempts = new Counter({
    name: 'webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome: delivered, retry (failed, will be retried) or failed (gave up)',
    labelNames: ['outcome'] as const,
    registers: [options.registry],
  });
  const attemptDuration = new Histogram({
    name: 'webhook_attempt_duration_seconds',
    help: 'Time from posting a webhook to its answer (or timeout)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [options.registry],
  });
  new Gauge({
    name: 'webhook_deliveries_pending',
    help: 'Webhook deliveries not yet delivered or given up (all nodes)',
    registers: [options.registry],
    async collect() {
      const { rows } = await sql.query<{ pending: number }>(countPending, []);
      this.set(rows[0]?.pending ?? 0);
    },
  });

  /**
   * The rooms whose queues this node is delivering: how many of their queues, and whether rows
   * were committed for the room since. A wake for a room whose every queue is being delivered here
   * claims nothing (a claim per join would be a statement per event); when one of its drains ends
   * having been woken, the claim runs then, in case the drain finished before the rows were there.
   */
  const draining = new Map<string, { queues: number; woken: boolean }>();

  /** Posts one room's queue for one endpoint, from `first` on, one row after another, until one fails or none is left. */
  async function drain(first: Claimed): Promise<void> {
    const room = draining.get(first.room_code) ?? { queues: 0, woken: false };
    draining.set(first.room_code, room);
    room.queues += 1;
    try {
      let row: Claimed | undefined = first;
      // On close the queue stops; a row leased for it meanwhile goes to any node once its lease lapses.
      while (row && !worker.closed) row = await deliver(row);
    } finally {
      room.queues -= 1;
      if (room.queues === 0) draining.delete(first.room_code);
      if (room.woken) {
        room.woken = false;
        worker.wake();
      }
    }
  }

  /** One attempt at one row; the row after it in its queue when this one was delivered. */
  async function deliver(row: Claimed): Promise<Claimed | undefined> {
    const stop = attemptDuration.startTimer();
    const headers = signWebhook(options.secret, row.event_id, row.body, Math.floor(Date.now() / 1000));
    const failure = await poster.post(row.endpoint, headers, row.body);
    stop();
    const context = { webhook_id: row.event_id, endpoint: row.endpoint, room_code: row.room_code, attempt: row.attempts };
    if (failure === null) {
      attempts.inc({ outcome: 'delivered' });
      return (await sql.query<Claimed>(deliveredThenNext, [row.seq, row.attempts, leaseS])).rows[0];
    }
    if (row.attempts >= options.maxAttempts) {
      attempts.inc({ outcome: 'failed' });
      logger.error({ ...context, failure }, 'webhook delivery failed for good; replay it with npm run webhooks -- replay');
      await sql.query(markFailed, [row.seq, row.attempts, failure]);
    } else {
      attempts.inc({ outcome: 'retry' });
      const delayMs = retryDelayMs(options.retryBaseMs, row.attempts, maxRetryDelayMs);
      logger.warn({ ...context, failure, retry_in_ms: Math.round(delayMs) }, 'webhook delivery failed; will retry');
      await sql.query(markRetry, [row.seq, row.attempts, delayMs / 1000, failure]);
    }
    return undefined;
  }

  // A queue whose head failed for good goes on when its slot frees: the worker claims again then.
  const worker = startOutboxWorker<Claimed>({
    name: 'webhooks',
    concurrency,
    pollEveryMs,
    pruneEveryMs,
    claim: async (free) => (await sql.query<Claimed>(claimHeads, [leaseS, free])).rows,
    work: drain,
    prune: () => sql.query(prune, [options.retentionMs / 1000]),
    logger,
    describe: (row) => ({ webhook_id: row.event_id }),
  });
  return {
    wake(roomCode) {
      const room = roomCode === undefined ? undefined : draining.get(roomCode);
      if (room && room.queues >= options.endpoints) room.woken = true;
      else worker.wake();
    },
    async close() {
      await worker.close();
      poster.close();
    },
  };
}
