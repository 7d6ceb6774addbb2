import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { migrationsList } from '../../migrations';
import { ensureDatabase } from '../../src/persistence/ensure-database';
import { databaseUrlFor, testDatabaseUrl } from '../support/env';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');

/** The Procfile's process types, `name: command`. */
function procfile(): Record<string, string> {
  const lines = readFileSync(resolve(root, 'Procfile'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
}

/** A built file (`dist/src/x.js`) as the source file tsx runs (`src/x.ts`), so the test needs no build. */
const sourceOf = (built: string) => built.replace(/^dist\//, '').replace(/\.js$/, '.ts');

describe('Procfile', () => {
  it('declares a web process (the server) and a release step (the migrations)', () => {
    const processes = procfile();
    expect(Object.keys(processes).sort()).toEqual(['release', 'web']);
    expect(processes.web).toMatch(/^node .*dist\/src\/main\.js$/);
    expect(processes.release).toBe('node dist/src/persistence/migrate.main.js up');
  });

  it('its release step migrates a fresh database to the latest schema, and again changes nothing', async () => {
    const name = `meetings_test_release_${randomBytes(4).toString('hex')}`;
    const url = databaseUrlFor(name);
    await ensureDatabase(url);
    const [node, script, ...args] = procfile().release!.split(' ');
    const release = () =>
      run(node === 'node' ? process.execPath : node!, ['--import', 'tsx', sourceOf(script!), ...args], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: url, NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) },
      });
    const admin = new Client({ connectionString: testDatabaseUrl });
    await admin.connect();
    try {
      expect((await release()).stdout).toMatch(/migrations are up to date/);
      const db = new Client({ connectionString: url });
      await db.connect();
      try {
        const applied = await db.query<{ name: string }>('select name from mikro_orm_migrations order by id');
        expect(applied.rows.map((row) => row.name)).toEqual(migrationsList.map((m) => m.name));
        await release();
        expect((await db.query('select count(*)::int as n from mikro_orm_migrations')).rows[0].n).toBe(migrationsList.length);
      } finally {
        await db.end();
      }
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});
