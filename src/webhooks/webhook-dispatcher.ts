import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { retryDelayMs, startOutboxWorker } from '../persistence/outbox-worker';
import type { WebhookConfig } from '../config/config';
import type { Sql } from '../persistence/sql';
import { signWebhook } from './signature';
import { createWebhookPoster } from './webhook-post';
import { createWebhookQueue, noRun, type Leased, type Run } from './webhook-queue';

/**
 * WEBHOOK_* as configured (docs/webhooks.md): the endpoints every event goes to (a room has one
 * queue per endpoint), the signing secret, how long one attempt may take (`timeoutMs`), the
 * attempts before a delivery stays `failed` (replayable with `npm run webhooks -- replay`), the
 * first retry's delay (each next one doubles, up to 15 minutes, less up to half at random), and
 * how long delivered and failed rows are kept.
 */
export interface WebhookDispatcherOptions extends WebhookConfig {
  sql: Sql;
  logger: Logger;
  registry: Registry;
}

export interface WebhookDispatcher {
  /**
   * Rows were committed (for `roomCode`'s queues, when given): looks for due deliveries after
   * `gatherMs` rather than at the next poll, unless this node is delivering every queue of that
   * room already, whose drains take the new rows as they go.
   */
  wake(roomCode?: string): void;
  /** Stops polling and waits for the attempts in flight. */
  close(): Promise<void>;
}

const pollEveryMs = 500;
const pruneEveryMs = 60_000;
const maxRetryDelayMs = 15 * 60_000;
/** Queues in flight at once per node: a receiver that hangs holds one of them per room, not the queue. */
const concurrency = 16;
/** Past its timeout, an attempt's row stays leased this much longer before another node may take it. */
const leaseSlackMs = 5_000;
/** Rows of a queue leased, posted and recorded together: two statements per run instead of one or two per row. */
const runLength = 32;
/** A run's next post starts only if it can end this long before the run's lease does (so the outcome is recorded under it). */
const leaseMarginMs = 1_000;
/**
 * A commit's wake waits this long before claiming, so that the events a room commits meanwhile go
 * in the same run: at 130 events a second in one room, about 13 rows per run instead of one.
 */
const gatherMs = 100;

/**
 * Posts the outbox's rows (webhook-outbox.ts) on every node: leases runs of due rows, a room's
 * queue at a time (webhook-queue.ts), posts each row signed, in order, and records the run's
 * outcome. A failed attempt is retried with exponential backoff and jitter, the rest of its queue
 * waiting behind it, and after `maxAttempts` the row stays `failed`. A node that dies mid-run
 * leaves its lease to lapse, and another node posts the rows it had not recorded again: delivery
 * is at least once, a repeat carrying the same `Webhook-Id`.
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { logger, timeoutMs } = options;
  const queue = createWebhookQueue(options.sql, (timeoutMs + leaseSlackMs) / 1000);
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
      this.set(await queue.pending());
    },
  });

  /**
   * The rooms whose queues this node is delivering: how many of their queues, and whether rows
   * were committed for the room since. A wake for a room whose every queue is being delivered here
   * claims nothing; when one of its drains ends having been woken, the claim runs then, in case
   * the drain finished before the rows were there.
   */
  const draining = new Map<string, { queues: number; woken: boolean }>();
  let gathering: NodeJS.Timeout | undefined;

  /** Claims after `gatherMs`, however many wakes come meanwhile. */
  function wakeSoon(): void {
    gathering ??= setTimeout(() => {
      gathering = undefined;
      worker.wake();
    }, gatherMs).unref();
  }

  /** Delivers one queue of one room, run after run, until a row fails, the queue is caught up, or the node closes. */
  async function drain(first: Run): Promise<void> {
    const roomCode = first.rows[0]!.room_code;
    const room = draining.get(roomCode) ?? { queues: 0, woken: false };
    draining.set(roomCode, room);
    room.queues += 1;
    try {
      let run = first;
      while (run.rows.length > 0) run = await deliverRun(run);
    } finally {
      room.queues -= 1;
      if (room.queues === 0) draining.delete(roomCode);
      if (room.woken) {
        room.woken = false;
        wakeSoon();
      }
    }
  }

  /**
   * Posts a run's rows in order until one fails or the next one might outlast the lease (a slow
   * receiver), then records the outcome: the delivered rows, the failed one, and the rest given
   * back unattempted. A full run delivered means the queue has a backlog, whose next run is
   * leased by the statement that records this one.
   */
  async function deliverRun(run: Run): Promise<Run> {
    const delivered: Leased[] = [];
    let failed: { row: Leased; failure: string } | undefined;
    for (const row of run.rows) {
      if (worker.closed || performance.now() + timeoutMs + leaseMarginMs > run.leaseEndsAt) break;
      const failure = await post(row);
      if (failure !== null) {
        failed = { row, failure };
        break;
      }
      delivered.push(row);
    }
    const unattempted = run.rows.slice(delivered.length + (failed ? 1 : 0));
    const backlog = delivered.length === runLength;
    const next = delivered.length > 0 ? await queue.delivered(delivered, backlog && !worker.closed ? runLength : 0) : noRun;
    if (failed) await recordFailure(failed.row, failed.failure);
    await queue.release(unattempted);
    return next;
  }

  async function post(row: Leased): Promise<string | null> {
    const stop = attemptDuration.startTimer();
    const headers = signWebhook(options.secret, row.event_id, row.body, Math.floor(Date.now() / 1000));
    const failure = await poster.post(row.endpoint, headers, row.body);
    stop();
    if (failure === null) attempts.inc({ outcome: 'delivered' });
    return failure;
  }

  async function recordFailure(row: Leased, failure: string): Promise<void> {
    const context = { webhook_id: row.event_id, endpoint: row.endpoint, room_code: row.room_code, attempt: row.attempts, failure };
    if (row.attempts >= options.maxAttempts) {
      attempts.inc({ outcome: 'failed' });
      logger.error(context, 'webhook delivery failed for good; replay it with npm run webhooks -- replay');
      await queue.fail(row, failure);
      // The rest of its queue goes on.
      wakeSoon();
    } else {
      attempts.inc({ outcome: 'retry' });
      const delayMs = retryDelayMs(options.retryBaseMs, row.attempts, maxRetryDelayMs);
      logger.warn({ ...context, retry_in_ms: Math.round(delayMs) }, 'webhook delivery failed; will retry');
      await queue.retry(row, delayMs / 1000, failure);
    }
  }

  const worker = startOutboxWorker<Run>({
    name: 'webhooks',
    concurrency,
    pollEveryMs,
    pruneEveryMs,
    claim: (free) => queue.claim(free, runLength),
    work: drain,
    prune: () => queue.prune(options.retentionDays * 86_400),
    logger,
    describe: (run) => ({ webhook_id: run.rows[0]?.event_id }),
  });
  return {
    wake(roomCode) {
      const room = roomCode === undefined ? undefined : draining.get(roomCode);
      if (room && room.queues >= options.endpoints.length) room.woken = true;
      else wakeSoon();
    },
    async close() {
      clearTimeout(gathering);
      await worker.close();
      poster.close();
    },
  };
}
