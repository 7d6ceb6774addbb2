import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ensureDatabase } from '../../src/persistence/ensure-database';
import { waitFor } from '../support/db';
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

describe('metrics and API docs', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('exposes Prometheus metrics, with requests labelled by route pattern', async () => {
    await server.request('GET', '/api/v1/auth/me');
    await server.request('GET', '/no/such/path/12345');
    const response = await server.request('GET', '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = response.body as string;
    expect(text).toMatch(/^nodejs_heap_size_total_bytes\{.*\} \d+/m);
    expect(text).toMatch(/^http_request_duration_seconds_count\{.*method="GET",route="\/api\/v1\/auth\/me",status="401"\} 1$/m);
    // Unknown paths share one label value instead of creating a series each.
    expect(text).toMatch(/route="unmatched",status="404"/);
    expect(text).not.toContain('/no/such/path/12345');
  });

  it('serves an OpenAPI 3.1 document generated from the request schemas', async () => {
    const response = await server.request('GET', '/api/openapi.json');
    expect(response.status).toBe(200);
    const doc = response.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/auth/register', '/api/v1/auth/login', '/api/v1/auth/guest', '/api/v1/auth/me']));
    const register = doc.paths['/api/v1/auth/register'].post;
    expect(register.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['email', 'password', 'display_name'],
      additionalProperties: false,
      properties: { password: { type: 'string', minLength: 8 } },
    });
    expect(register.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Session' });
    expect(register.responses['409'].description).toBe('EMAIL_TAKEN');
    expect(register.responses['400'].description).toBe('VALIDATION_FAILED, MALFORMED_JSON');
    expect(doc.paths['/api/v1/auth/login'].post.responses['429'].description).toBe('RATE_LIMITED');
    expect(doc.paths['/api/v1/auth/me'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.components.schemas.Problem.properties.code.enum).toContain('ROOM_FULL');

    // Every meetings route of docs/api.md "Meetings", with its parameters and contract-specific statuses.
    expect(
      Object.keys(doc.paths)
        .filter((path) => path.startsWith('/api/v1/meetings'))
        .sort(),
    ).toEqual([
      '/api/v1/meetings',
      '/api/v1/meetings/history',
      '/api/v1/meetings/upcoming',
      '/api/v1/meetings/{room_code}',
      '/api/v1/meetings/{room_code}/admit-all',
      '/api/v1/meetings/{room_code}/admit/{user_id}',
      '/api/v1/meetings/{room_code}/co-hosts/{user_id}',
      '/api/v1/meetings/{room_code}/config',
      '/api/v1/meetings/{room_code}/end',
      '/api/v1/meetings/{room_code}/invitations',
      '/api/v1/meetings/{room_code}/invitations/{invitation_id}',
      '/api/v1/meetings/{room_code}/join',
      '/api/v1/meetings/{room_code}/leave',
      '/api/v1/meetings/{room_code}/mute-all',
      '/api/v1/meetings/{room_code}/mute/{user_id}',
      '/api/v1/meetings/{room_code}/participants',
      '/api/v1/meetings/{room_code}/reject-all',
      '/api/v1/meetings/{room_code}/reject/{user_id}',
      '/api/v1/meetings/{room_code}/remove/{user_id}',
    ]);
    expect(doc.paths['/api/v1/meetings/{room_code}/mute/{user_id}'].post.responses['409'].description).toBe('NOT_A_PARTICIPANT');
    const remove = doc.paths['/api/v1/meetings/{room_code}/remove/{user_id}'].post;
    expect(remove.parameters.map((p: { name: string }) => p.name)).toEqual(['room_code', 'user_id']);
    expect(remove.responses['409'].description).toBe('NOT_A_PARTICIPANT');
    expect(doc.paths['/api/v1/meetings/history'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['limit', 'cursor', 'role']);
    const create = doc.paths['/api/v1/meetings'].post.requestBody.content['application/json'].schema;
    expect(create.properties.settings.properties.max_participants).toMatchObject({ minimum: 2, maximum: 1000 });
  });

  it('serves the interactive docs page and its assets', async () => {
    const page = await server.request('GET', '/api/docs/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Swagger UI');
    const init = await server.request('GET', '/api/docs/swagger-ui-init.js');
    expect(init.status).toBe(200);
    expect(init.body).toContain('/api/openapi.json');
  });
});
