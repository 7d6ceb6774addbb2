import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ensureDatabase } from '../../src/persistence/ensure-database';
import { openOrm, type Orm } from '../../src/persistence/orm';
import { databaseUrlFor, testDatabaseUrl } from '../support/env';

describe('migrations', () => {
  const name = `meetings_test_migrate_${randomBytes(4).toString('hex')}`;
  const url = databaseUrlFor(name);
  let orm: Orm;
  let db: Client;

  beforeAll(async () => {
    await ensureDatabase(url);
    orm = await openOrm(url, { migrate: true });
    db = new Client({ connectionString: url });
    await db.connect();
  });

  afterAll(async () => {
    await orm?.close(true);
    await db?.end();
    const admin = new Client({ connectionString: testDatabaseUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('apply to an empty database and leave nothing for the schema diff', async () => {
    const tables = await db.query("select table_name from information_schema.tables where table_schema = 'public' order by 1");
    expect(tables.rows.map((row) => row.table_name)).toEqual([
      'invitations',
      'mail_outbox',
      'mikro_orm_migrations',
      'participants',
      'rooms',
      'users',
      'webhook_deliveries',
    ]);
    await expect(orm.schema.getUpdateSchemaSQL({ wrap: false })).resolves.toBe('');
  });

  it('are idempotent: running them again applies nothing', async () => {
    await expect(orm.migrator.up()).resolves.toEqual([]);
  });

  it('enforce one open attendance per room and user, but allow any number of closed ones', async () => {
    const userId = randomUUID();
    const roomId = randomUUID();
    await db.query("insert into users (id, email, display_name, is_guest, created_at) values ($1, null, 'G', true, now())", [userId]);
    await db.query(
      `insert into rooms (id, room_code, host_id, name, status, created_at, settings)
       values ($1, 'abcdefghijkl', $2, 'R', 'active', now(), '{}')`,
      [roomId, userId],
    );
    const attend = (leftAt: string | null) =>
      db.query("insert into participants (id, room_id, user_id, role, joined_at, left_at) values ($1, $2, $3, 'guest', now(), $4)", [
        randomUUID(),
        roomId,
        userId,
        leftAt,
      ]);
    await attend('2026-01-01T00:00:00Z');
    await attend('2026-01-02T00:00:00Z');
    await attend(null);
    await expect(attend(null)).rejects.toMatchObject({ code: '23505', constraint: 'participants_open_attendance_unique' });
  });

  it('reject values outside the enums and duplicate room codes', async () => {
    const userId = randomUUID();
    await db.query("insert into users (id, email, display_name, is_guest, created_at) values ($1, null, 'H', true, now())", [userId]);
    const room = (code: string, status: string) =>
      db.query("insert into rooms (id, room_code, host_id, name, status, created_at, settings) values ($1, $2, $3, 'R', $4, now(), '{}')", [
        randomUUID(),
        code,
        userId,
        status,
      ]);
    await expect(room('zzzzzzzzzzz1', 'paused')).rejects.toMatchObject({ code: '23514' });
    await room('zzzzzzzzzzz2', 'pending');
    await expect(room('zzzzzzzzzzz2', 'pending')).rejects.toMatchObject({ code: '23505', constraint: 'rooms_room_code_unique' });
  });
});
