import type { Client } from 'pg';

/** One attendance row, straight from PostgreSQL. */
export interface AttendanceRow {
  user_id: string;
  role: 'host' | 'guest';
  joined_at: Date;
  left_at: Date | null;
  left_reason: string | null;
}

/** A room's attendance rows (optionally one user's), oldest first. */
export async function attendanceRows(db: Client, roomCode: string, userId?: string): Promise<AttendanceRow[]> {
  const { rows } = await db.query<AttendanceRow>(
    `select p.user_id, p.role, p.joined_at, p.left_at, p.left_reason
       from participants p join rooms r on r.id = p.room_id
      where r.room_code = $1 and ($2::uuid is null or p.user_id = $2::uuid)
      order by p.joined_at`,
    [roomCode, userId ?? null],
  );
  return rows;
}

/** Polls until `condition` holds; fails after `timeoutMs`. */
export async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
