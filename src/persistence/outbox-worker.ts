import type { Logger } from 'pino';

/**
 * The loop both PostgreSQL outboxes run on every node (the webhooks' and the invitation emails'):
 * claim due rows while fewer than `concurrency` are in flight, work each one, claim again as soon
 * as a slot frees (when the last claim filled every slot) or a wake came meanwhile, poll in case
 * another node wrote rows or a retry fell due, prune old ones, and on close wait for the attempts
 * in flight. What a claim, an attempt and a prune are is the caller's
 * (webhooks/webhook-dispatcher.ts, mail/mail-dispatcher.ts).
 */
export interface OutboxWorkerOptions<Row> {
  /** Names the outbox in logs (`component`). */
  name: string;
  concurrency: number;
  pollEveryMs: number;
  pruneEveryMs: number;
  /** Leases up to `free` due rows to this node. */
  claim(free: number): Promise<Row[]>;
  /** Makes one attempt at a row and records its outcome. */
  work(row: Row): Promise<void>;
  /** Deletes rows done long enough ago. */
  prune(): Promise<unknown>;
  logger: Logger;
  /** What names a row in the log line of an attempt whose outcome could not be recorded. */
  describe(row: Row): object;
}

export interface OutboxWorker {
  /** Looks for due rows now rather than at the next poll (after a commit that wrote some). */
  wake(): void;
  /** True once closing: a long piece of work stops between rows. */
  readonly closed: boolean;
  /** Stops polling and waits for the attempts in flight. */
  close(): Promise<void>;
}

/** The delay before the retry after attempt `attempts` (1 is the first): doubling from `baseMs` up to `capMs`, less up to half at random. */
export const retryDelayMs = (baseMs: number, attempts: number, capMs: number): number =>
  Math.min(baseMs * 2 ** (attempts - 1), capMs) * (0.5 + Math.random() / 2);

export function startOutboxWorker<Row>(options: OutboxWorkerOptions<Row>): OutboxWorker {
  const { logger, name } = options;
  const inFlight = new Set<Promise<void>>();
  let claiming = false;
  let again = false;
  let backlog = false;
  let closed = false;

  /** Claims what the free slots allow and starts working on it; again while a wake came meanwhile. */
  async function claim(): Promise<void> {
    if (claiming) {
      again = true;
      return;
    }
    claiming = true;
    try {
      do {
        again = false;
        const free = options.concurrency - inFlight.size;
        if (closed || free <= 0) return;
        const rows = await options.claim(free);
        // Every free slot filled: more may be due, so a slot that frees claims again at once.
        backlog = rows.length === free;
        for (const row of rows) {
          const attempt = options
            .work(row)
            .catch((error: unknown) => logger.warn({ err: error, component: name, ...options.describe(row) }, 'recording an outbox attempt failed'))
            .finally(() => {
              inFlight.delete(attempt);
              if (backlog) void claim();
            });
          inFlight.add(attempt);
        }
      } while (again);
    } catch (error) {
      logger.warn({ err: error, component: name }, 'claiming outbox rows failed');
    } finally {
      claiming = false;
    }
  }

  const prune = () => void options.prune().catch((error: unknown) => logger.warn({ err: error, component: name }, 'pruning the outbox failed'));
  const poller = setInterval(() => void claim(), options.pollEveryMs);
  poller.unref();
  prune();
  const pruner = setInterval(prune, options.pruneEveryMs);
  pruner.unref();

  return {
    wake: () => void claim(),
    get closed() {
      return closed;
    },
    async close() {
      closed = true;
      clearInterval(poller);
      clearInterval(pruner);
      await Promise.allSettled([...inFlight]);
    },
  };
}
