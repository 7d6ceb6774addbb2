import type { NamedStatement, Sql } from '../persistence/sql';

/**
 * The outbox table (`webhook_deliveries`) as the dispatcher's queues: one queue per endpoint and
 * room, its rows posted in `seq` order. A node leases a run of a queue (its first rows, up to a
 * limit) by setting `leased_until` and counting the attempt; every outcome it records applies
 * only to the attempt it made (`attempts` as it leased it), so a node whose lease lapsed, and
 * whose rows another node leased since, changes nothing.
 */
export interface Leased {
  seq: string;
  event_id: string;
  endpoint: string;
  room_code: string;
  body: string;
  attempts: number;
}

/** One queue's rows leased together, in `seq` order. */
export interface Run {
  rows: Leased[];
  /** When the lease ends at the earliest, on this process's `performance.now()` clock. */
  leaseEndsAt: number;
}

/** No rows leased: a queue caught up. */
export const noRun: Run = { rows: [], leaseEndsAt: 0 };

export interface WebhookQueue {
  /**
   * Runs of up to `runLength` rows from the heads of up to `queues` queues whose head is due and
   * not leased, oldest head first, leased to this node.
   */
  claim(queues: number, runLength: number): Promise<Run[]>;
  /**
   * Records `rows` (one queue's, in order) as delivered and, when all of them still were this
   * node's, leases the queue's next run of up to `runLength` rows (0: none) in the same statement.
   */
  delivered(rows: readonly Leased[], runLength: number): Promise<Run>;
  /** The attempt at `row` failed: it is tried again after `delayS`. */
  retry(row: Leased, delayS: number, failure: string): Promise<void>;
  /** The attempt at `row` failed and was its last: it stays `failed` (replayable from the CLI). */
  fail(row: Leased, failure: string): Promise<void>;
  /** Gives back leased rows this node did not attempt, uncounted, for any node to take at once. */
  release(rows: readonly Leased[]): Promise<void>;
  /** Deletes delivered and failed rows older than `retentionS`. */
  prune(retentionS: number): Promise<void>;
  /** Rows not yet delivered or given up, all nodes'. */
  pending(): Promise<number>;
}

const leased = 'd.seq, d.event_id, d.endpoint, d.room_code, d.body::text as body, d.attempts';
const lease = `leased_until = now() + make_interval(secs => $1::double precision), attempts = d.attempts + 1`;
const free = `(next_attempt_at <= now() and (leased_until is null or leased_until < now()))`;

// The heads (first pending rows) of the queues are found by skipping through the queue index from
// one queue to the next (a recursive CTE): a claim costs an index descent per queue, not a read of
// every pending row (which, while a room's backlog of 500 rows was being delivered, cost 10 ms per
// claim). Heads another node is claiming are skipped, not waited for; a leased head keeps the rest
// of its queue waiting. Behind each head, the run stops before the first row that is not free.
const claimRuns: NamedStatement = {
  name: 'webhooks.claim',
  text: `with recursive heads as (
           (select endpoint, room_code, seq from webhook_deliveries
             where status = 'pending' order by endpoint, room_code, seq limit 1)
           union all
           select next.* from heads, lateral (
             select endpoint, room_code, seq from webhook_deliveries
              where status = 'pending' and (endpoint, room_code) > (heads.endpoint, heads.room_code)
              order by endpoint, room_code, seq limit 1) next),
         due as (
           select w.seq, w.endpoint, w.room_code from webhook_deliveries w
            where w.seq = any(array(select seq from heads)) and ${free}
            order by w.seq
            limit $2
            for update skip locked),
         runs as (
           select r.seq, r.free, due.seq as head from due, lateral (
             select seq, ${free} as free from webhook_deliveries
              where endpoint = due.endpoint and room_code = due.room_code and status = 'pending' and seq >= due.seq
              order by seq limit $3) r)
         update webhook_deliveries d set ${lease}
          where d.seq = any(array(
            select seq from runs r where not exists (select from runs b where b.head = r.head and not b.free and b.seq <= r.seq)))
      returning ${leased}`,
};

// The outer query does not see the CTE's update: the queue's next rows are those after $4.
const deliveredThenNext: NamedStatement = {
  name: 'webhooks.delivered',
  text: `with done as (
           update webhook_deliveries set status = 'delivered', delivered_at = now(), leased_until = null, last_error = null
            where (seq, attempts) in (select * from unnest($2::bigint[], $3::int[])) and status = 'pending'
        returning seq),
         next as (
           select seq, ${free} as free from webhook_deliveries
            where endpoint = $5 and room_code = $6 and status = 'pending' and seq > $4
              and (select count(*) from done) = cardinality($2::bigint[])
            order by seq limit $7)
         update webhook_deliveries d set ${lease}
          where d.seq = any(array(select seq from next n where not exists (select from next b where not b.free and b.seq <= n.seq)))
      returning ${leased}`,
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
const release: NamedStatement = {
  name: 'webhooks.release',
  text: `update webhook_deliveries set leased_until = null, attempts = attempts - 1
          where (seq, attempts) in (select * from unnest($1::bigint[], $2::int[])) and status = 'pending'`,
};
const prune: NamedStatement = {
  name: 'webhooks.prune',
  text: `delete from webhook_deliveries where status <> 'pending' and created_at < now() - make_interval(secs => $1::double precision)`,
};
const countPending: NamedStatement = { name: 'webhooks.pending', text: `select count(*)::int as pending from webhook_deliveries where status = 'pending'` };

/** Leased rows, one run per queue, each in `seq` order (a statement's rows come back in no set order). */
function runsOf(rows: Leased[], leaseEndsAt: number): Run[] {
  const runs = new Map<string, Run>();
  for (const row of rows.sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)))) {
    const queue = `${row.endpoint}\n${row.room_code}`;
    const run = runs.get(queue);
    if (run) run.rows.push(row);
    else runs.set(queue, { rows: [row], leaseEndsAt });
  }
  return [...runs.values()];
}

export function createWebhookQueue(sql: Sql, leaseS: number): WebhookQueue {
  const keys = (rows: readonly Leased[]) => [rows.map((row) => row.seq), rows.map((row) => row.attempts)];
  /** Runs a leasing statement; its leases end no sooner than `leaseS` after it was sent. */
  async function lease(statement: NamedStatement, params: readonly unknown[]): Promise<Run[]> {
    const leaseEndsAt = performance.now() + leaseS * 1000;
    return runsOf((await sql.query<Leased>(statement, params)).rows, leaseEndsAt);
  }
  return {
    claim: (queues, runLength) => lease(claimRuns, [leaseS, queues, runLength]),
    async delivered(rows, runLength) {
      const last = rows[rows.length - 1]!;
      const [next] = await lease(deliveredThenNext, [leaseS, ...keys(rows), last.seq, last.endpoint, last.room_code, runLength]);
      return next ?? noRun;
    },
    retry: async (row, delayS, failure) => void (await sql.query(markRetry, [row.seq, row.attempts, delayS, failure])),
    fail: async (row, failure) => void (await sql.query(markFailed, [row.seq, row.attempts, failure])),
    release: async (rows) => void (rows.length > 0 && (await sql.query(release, keys(rows)))),
    prune: async (retentionS) => void (await sql.query(prune, [retentionS])),
    pending: async () => (await sql.query<{ pending: number }>(countPending, [])).rows[0]?.pending ?? 0,
  };
}
