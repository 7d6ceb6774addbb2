import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { HistoryPage, HistoryQuery } from '../contract/schemas';
import { AppError } from '../errors/app-error';

/**
 * `/history`: ended rooms, newest `ended_at` first, keyset-paginated on (ended_at, id) so a page
 * costs the same however deep it is and rooms ending meanwhile neither repeat nor vanish. The
 * cursor is opaque to clients: base64url of the last item's [ended_at, id].
 */

const cursorSchema = z.tuple([z.iso.datetime(), z.uuid()]);

function decodeCursor(cursor: string): [string, string] {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new AppError('VALIDATION_FAILED', 'The cursor is not one this server issued', [{ path: 'cursor', message: 'is not a valid cursor' }]);
  }
}

const encodeCursor = (endedAt: Date, id: string) => Buffer.from(JSON.stringify([endedAt.toISOString(), id])).toString('base64url');

interface HistoryRow {
  id: string;
  room_code: string;
  name: string;
  role: 'host' | 'participant';
  created_at: Date;
  started_at: Date | null;
  ended_at: Date;
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
            case when r.host_id = ? then 'host' else 'participant' end as role,
            (select count(distinct p.user_id) from participants p where p.room_id = r.id) as participant_count
       from rooms r
      where r.ended_at is not null and ${scope.where}
        ${after ? 'and (r.ended_at, r.id) < (?::timestamptz, ?::uuid)' : ''}
      order by r.ended_at desc, r.id desc
      limit ?`,
    [userId, ...Array<string>(scope.params).fill(userId), ...(after ?? []), query.limit + 1],
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => ({
      room_code: row.room_code,
      name: row.name,
      role: row.role,
      created_at: row.created_at.toISOString(),
      started_at: row.started_at?.toISOString() ?? null,
      ended_at: row.ended_at.toISOString(),
      duration_seconds: row.started_at ? Math.max(0, Math.floor((row.ended_at.getTime() - row.started_at.getTime()) / 1000)) : 0,
      participant_count: Number(row.participant_count),
    })),
    next_cursor: rows.length > query.limit && last ? encodeCursor(last.ended_at, last.id) : null,
  };
}
