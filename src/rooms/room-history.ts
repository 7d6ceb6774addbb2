import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { HistoryPage, HistoryQuery } from '../contract/schemas';
import { AppError } from '../errors/app-error';
import { epochMs } from './room-repository';

/**
 * `/history`: ended rooms, newest `ended_at` first, keyset-paginated on (ended_at, id) so a page
 * costs the same however deep it is and rooms ending meanwhile neither repeat nor vanish. The
 * cursor is opaque to clients: base64url of the last item's [ended_at, id].
 */

const cursorSchema = z.tuple([z.iso.datetime(), z.uuid()]);

/** A page cursor's (time, id); VALIDATION_FAILED for one this server did not issue. Shared with the upcoming list. */
export function decodeCursor(cursor: string): [string, string] {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new AppError('VALIDATION_FAILED', 'The cursor is not one this server issued', [{ path: 'cursor', message: 'is not a valid cursor' }]);
  }
}

const encodeCursor = (at: Date | string, id: string) => Buffer.from(JSON.stringify([new Date(epochMs(at)).toISOString(), id])).toString('base64url');

/**
 * One page from rows read with `limit + 1`: the first `limit` as items, and when there was one
 * more, the cursor of the last item's (time, id), the keyset the next page starts after.
 */
export function keysetPage<Row extends { id: string }, Item>(rows: Row[], limit: number, keyOf: (row: Row) => Date | string, toItem: (row: Row) => Item) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(toItem), next_cursor: rows.length > limit && last ? encodeCursor(keyOf(last), last.id) : null };
}
const iso = (value: Date | string) => new Date(epochMs(value)).toISOString();

interface HistoryRow {
  id: string;
  room_code: string;
  name: string;
  role: 'host' | 'guest';
  created_at: Date | string;
  started_at: Date | string | null;
  ended_at: Date | string;
  participant_count: string | number;
}

// Which rooms each role filter selects; `?` is the caller's id.
const scopes: Record<HistoryQuery['role'], { where: string; params: number }> = {
  host: { where: 'r.host_id = ?', params: 1 },
  participant: { where: 'r.host_id <> ? and r.id in (select room_id from participants where user_id = ?)', params: 2 },
  all: { where: '(r.host_id = ? or r.id in (select room_id from participants where user_id = ?))', params: 2 },
};

/** One page of the caller's history. */
export async function queryHistory(em: EntityManager, userId: string, query: HistoryQuery): Promise<HistoryPage> {
  const scope = scopes[query.role];
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const rows = await em.execute<HistoryRow[]>(
    `select r.id, r.room_code, r.name, r.created_at, r.started_at, r.ended_at,
            case when r.host_id = ? then 'host' else 'guest' end as role,
            (select count(distinct p.user_id) from participants p where p.room_id = r.id) as participant_count
       from rooms r
      where r.ended_at is not null and ${scope.where}
        ${after ? 'and (r.ended_at, r.id) < (?::timestamptz, ?::uuid)' : ''}
      order by r.ended_at desc, r.id desc
      limit ?`,
    [userId, ...Array<string>(scope.params).fill(userId), ...(after ?? []), query.limit + 1],
  );
  return keysetPage(
    rows,
    query.limit,
    (row) => row.ended_at,
    (row) => ({
      room_code: row.room_code,
      name: row.name,
      role: row.role,
      created_at: iso(row.created_at),
      started_at: row.started_at === null ? null : iso(row.started_at),
      ended_at: iso(row.ended_at),
      duration_seconds: row.started_at === null ? 0 : Math.max(0, Math.floor((epochMs(row.ended_at) - epochMs(row.started_at)) / 1000)),
      participant_count: Number(row.participant_count),
    }),
  );
}
