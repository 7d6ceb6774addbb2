import type { SqlStatement } from '../persistence/sql';
import type { WebhookEvent } from './webhook-events';

/**
 * The outbox: one `webhook_deliveries` row per event and endpoint, inserted by the statement
 * below inside the room command's own transaction, so an event exists exactly when the change
 * that caused it was committed. Rows get their `seq` in event order; the dispatcher delivers a
 * room's rows to an endpoint in `seq` order (webhook-dispatcher.ts).
 */

/**
 * The insert of `events` for every endpoint, as one statement of a batch (`?` parameters).
 * `condition` is appended to its WHERE: the room command's fence, so that the rows are written
 * only if the command's other writes are.
 */
export function outboxInsert(
  events: readonly WebhookEvent[],
  endpoints: readonly string[],
  condition: { sql: string; params: readonly unknown[] },
): SqlStatement {
  return [
    `insert into webhook_deliveries (id, event_id, endpoint, room_code, type, body, created_at)
     select gen_random_uuid(), (e.event->>'id')::uuid, endpoint, e.event->>'room_code', e.event->>'type', e.event, (e.event->>'created_at')::timestamptz
       from jsonb_array_elements(?::jsonb) with ordinality as e(event, position)
      cross join jsonb_array_elements_text(?::jsonb) with ordinality as p(endpoint, rank)
      where true${condition.sql}
      order by e.position, p.rank`,
    [JSON.stringify(events), JSON.stringify(endpoints), ...condition.params],
  ];
}
