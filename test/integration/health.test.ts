import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ensureDatabase } from '../../src/persistence/database';
import { databaseUrlFor, testDatabaseUrl, testRedisUrl } from '../support/env';
import { startServer, type TestServer } from '../support/server';

describe('health and readiness', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('single node: alive and ready when PostgreSQL answers', async () => {
    server = await startServer();
    expect((await server.request('GET', '/healthz')).status).toBe(200);
    const ready = await server.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { postgres: 'ok' } });
  });

  it('cluster mode: checks Redis too', async () => {
    server = await startServer({ REDIS_URL: testRedisUrl });
    await waitFor(async () => (await server!.request('GET', '/readyz')).status === 200);
    const ready = await server.request('GET', '/readyz');
    expect(ready.body).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('cluster mode: 503 while Redis is unreachable, and the process stays alive', async () => {
    // Nothing listens on port 1: the connection is refused and retried in the background.
    server = await startServer({ REDIS_URL: 'redis://127.0.0.1:1' });
    const ready = await server.request('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'unavailable', checks: { postgres: 'ok', redis: 'down' } });
    expect((await server.request('GET', '/healthz')).status).toBe(200);
  });

  it('503 when PostgreSQL stops accepting connections, 200 again when it is back', async () => {
    const name = `meetings_test_ready_${randomBytes(4).toString('hex')}`;
    const url = databaseUrlFor(name);
    await ensureDatabase(url);
    const admin = new Client({ connectionString: testDatabaseUrl });
    await admin.connect();
    try {
      server = await startServer({ DATABASE_URL: url });
      expect((await server.request('GET', '/readyz')).status).toBe(200);

      await admin.query(`alter database ${name} allow_connections false`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
      const down = await server.request('GET', '/readyz');
      expect(down.status).toBe(503);
      expect(down.body.checks).toEqual({ postgres: 'down' });

      await admin.query(`alter database ${name} allow_connections true`);
      await waitFor(async () => (await server!.request('GET', '/readyz')).status === 200);
    } finally {
      await server?.close();
      server = undefined;
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
