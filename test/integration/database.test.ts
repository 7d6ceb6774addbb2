import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ensureDatabase } from '../../src/persistence/ensure-database';
import { databaseUrlFor, testDatabaseUrl } from '../support/env';

describe('ensureDatabase', () => {
  const created: string[] = [];
  const freshName = () => {
    const name = `meetings_test_ensure_${randomBytes(4).toString('hex')}`;
    created.push(name);
    return name;
  };
  const exists = async (name: string) => {
    const admin = new Client({ connectionString: testDatabaseUrl });
    await admin.connect();
    try {
      return (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
    } finally {
      await admin.end();
    }
  };

  afterAll(async () => {
    const admin = new Client({ connectionString: testDatabaseUrl });
    await admin.connect();
    for (const name of created) await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('leaves an existing database alone', async () => {
    await expect(ensureDatabase(testDatabaseUrl)).resolves.toBeUndefined();
  });

  it('creates a missing database', async () => {
    const name = freshName();
    expect(await exists(name)).toBe(false);
    await ensureDatabase(databaseUrlFor(name));
    expect(await exists(name)).toBe(true);
  });

  it('lets several processes race to create the same database', async () => {
    const name = freshName();
    await Promise.all(Array.from({ length: 5 }, () => ensureDatabase(databaseUrlFor(name))));
    expect(await exists(name)).toBe(true);
  });

  it('fails, rather than hangs, when the server is unreachable', async () => {
    await expect(ensureDatabase('postgres://postgres@127.0.0.1:1/nothing')).rejects.toThrow(/ECONNREFUSED/);
  });
});
