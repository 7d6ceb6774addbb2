import type { EntityManager } from '@mikro-orm/postgresql';
import type { UpcomingPage, UpcomingQuery } from '../contract/schemas';
import { decodeCursor, keysetPage } from './room-history';
import { epochMs } from './room-repository';

/**
 * `/upcoming`: the scheduled meetings that have not ended which the caller hosts or was invited
 * to (an invitation to their account's email, or one they accepted), soonest start first,
 * keyset-paginated on (scheduled_start_at, id) like the history.
 */

interface UpcomingRow {
  id: string;
  room_code: string;
  name: string;
  status: 'pending' | 'active';
  host_id: string;
  scheduled_start_at: Date | string;
  scheduled_end_at: Date | string | null;
}

const iso = (value: Date | string) => new Date(epochMs(value)).toISOString();

/** One page of the caller's upcoming meetings; `joinUrl` makes a room's share link. */
export async function queryUpcoming(em: EntityManager, userId: string, query: UpcomingQuery, joinUrl: (roomCode: string) => string): Promise<UpcomingPage> {
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const rows = await em.execute<UpcomingRow[]>(
    `select r.id, r.room_code, r.name, r.status, r.host_id, r.scheduled_start_at, r.scheduled_end_at
       from rooms r
      where r.scheduled_start_at is not null and r.status <> 'ended'
        and (r.host_id = ? or r.id in (
              select i.room_id from invitations i
               where i.accepted_by = ? and i.status = 'accepted'
                  or i.status = 'pending' and i.expires_at > now() and i.email = (select u.email from users u where u.id = ?)))
        ${after ? 'and (r.scheduled_start_at, r.id) > (?::timestamptz, ?::uuid)' : ''}
      order by r.scheduled_start_at, r.id
      limit ?`,
    [userId, userId, userId, ...(after ?? []), query.limit + 1],
  );
  return keysetPage(
    rows,
    query.limit,
    (row) => row.scheduled_start_at,
    (row) => ({
      room_code: row.room_code,
      name: row.name,
      role: row.host_id === userId ? ('host' as const) : ('invitee' as const),
      status: row.status,
      scheduled_start_at: iso(row.scheduled_start_at),
      scheduled_end_at: row.scheduled_end_at === null ? null : iso(row.scheduled_end_at),
      join_url: joinUrl(row.room_code),
    }),
  );
}
