import { randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Client } from 'pg';
import { createAccounts } from '../../src/auth/accounts';
import { openOrm, type Orm } from '../../src/persistence/orm';
import { createSql } from '../../src/persistence/sql';
import { testDatabaseUrl } from '../support/env';
import { createRoom, hostUser } from '../support/meetings';
import { registerUser, startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket } from '../support/sockets';

/**
 * A validly signed token whose account does not exist (never did, or was deleted) is refused
 * with 401 UNAUTHENTICATED by every route and by the Socket.IO handshake, and never becomes a 500.
 */
const secret = randomBytes(32).toString('hex');
let server: TestServer;
let db: Client;

beforeAll(async () => {
  server = await startServer({ JWT_SECRET: secret });
  db = new Client({ connectionString: testDatabaseUrl });
  await db.connect();
});

afterAll(async () => {
  closeSockets();
  await db.end();
  await server.close();
});

const tokenFor = (userId: string, guest = false) => jwt.sign({ guest }, secret, { algorithm: 'HS256', subject: userId, expiresIn: 600 });

describe('a token whose account does not exist', () => {
  const ghost = tokenFor('00000000-0000-4000-8000-000000000000');

  it.each([
    ['POST', '/api/v1/meetings', { name: 'Ghost room' }],
    ['GET', '/api/v1/meetings/history', undefined],
    ['GET', '/api/v1/auth/me', undefined],
  ])('is refused by %s %s with 401', async (method, path, body) => {
    const response = await server.request(method, path, { token: ghost, body });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('UNAUTHENTICATED');
  });

  it('is refused by every room route with 401, host-only ones included', async () => {
    const host = await hostUser(server);
    const room = await createRoom(server, host);
    const code = room.room_code;
    const someone = randomUUID();
    const routes: [string, string][] = [
      ['GET', `/api/v1/meetings/${code}`],
      ['GET', `/api/v1/meetings/${code}/participants`],
      ['POST', `/api/v1/meetings/${code}/join`],
      ['POST', `/api/v1/meetings/${code}/leave`],
      ['POST', `/api/v1/meetings/${code}/admit/${someone}`],
      ['POST', `/api/v1/meetings/${code}/admit-all`],
      ['POST', `/api/v1/meetings/${code}/reject/${someone}`],
      ['POST', `/api/v1/meetings/${code}/remove/${someone}`],
      ['POST', `/api/v1/meetings/${code}/end`],
      ['PATCH', `/api/v1/meetings/${code}/config`],
    ];
    for (const [method, path] of routes) {
      const response = await server.request(method, path, { token: ghost, body: method === 'GET' ? undefined : {} });
      expect({ route: `${method} ${path}`, status: response.status, code: response.body.code }).toEqual({
        route: `${method} ${path}`,
        status: 401,
        code: 'UNAUTHENTICATED',
      });
    }
    // Nothing happened to the room.
    const details = await server.request('GET', `/api/v1/meetings/${code}`, { token: host.token });
    expect(details.body).toMatchObject({ status: 'pending' });
  });

  it('is refused by the Socket.IO handshake with UNAUTHENTICATED', async () => {
    await expect(connectSocket(server, ghost)).rejects.toMatchObject({
      message: 'UNAUTHENTICATED',
      data: { code: 'UNAUTHENTICATED', message: expect.stringMatching(/no longer exists/) },
    });
  });

  it('an account deleted after its last check gets 401 from create, not a foreign-key 500', async () => {
    const user = await registerUser(server);
    // The node now remembers the account as existing (its cache); then it is deleted.
    expect((await server.request('GET', '/api/v1/meetings/history', { token: user.access_token })).status).toBe(200);
    await db.query('delete from users where id = $1', [user.user.id]);
    const response = await server.request('POST', '/api/v1/meetings', { token: user.access_token, body: { name: 'Orphan' } });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('UNAUTHENTICATED');
  });

  it('an account deleted after its last check gets 401 from join, not a 503; a join sent with it still succeeds', async () => {
    const host = await hostUser(server);
    const room = await createRoom(server, host);
    await server.request('POST', `/api/v1/meetings/${room.room_code}/join`, { token: host.token, body: {} });
    const doomed = await registerUser(server);
    const bystander = await registerUser(server);
    // Both accounts are remembered as existing; then one is deleted.
    for (const user of [doomed, bystander]) expect((await server.request('GET', '/api/v1/meetings/history', { token: user.access_token })).status).toBe(200);
    await db.query('delete from users where id = $1', [doomed.user.id]);
    // Sent together (whether they share a batch is the runtime's unit test: test/unit/room-runtime.test.ts).
    const join = (user: typeof doomed) => server.request('POST', `/api/v1/meetings/${room.room_code}/join`, { token: user.access_token, body: {} });
    const [orphan, other] = await Promise.all([join(doomed), join(bystander)]);
    expect({ status: orphan.status, code: orphan.body.code }).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect({ status: other.status, joined: other.body.status }).toEqual({ status: 200, joined: 'joined' });
    const roster = await server.request('GET', `/api/v1/meetings/${room.room_code}/participants`, { token: host.token });
    expect(roster.body.participants.map((p: { user_id: string }) => p.user_id).sort()).toEqual([host.userId, bystander.user.id].sort());
  });
});

describe('the account cache', () => {
  let orm: Orm;
  beforeAll(async () => {
    orm = await openOrm(testDatabaseUrl, { migrate: false });
  });
  afterAll(async () => orm.close(true));

  it('answers an existing account from memory for its TTL, then sees that it was deleted', async () => {
    let clock = 1_000_000;
    const accounts = createAccounts(createSql(orm), { ttlMs: 10_000, maxEntries: 10, now: () => clock });
    const id = randomUUID();
    await db.query("insert into users (id, email, display_name, is_guest, created_at) values ($1, null, 'Cached Carl', true, now())", [id]);
    expect(await accounts.find(id)).toEqual({ displayName: 'Cached Carl', isGuest: true });
    await db.query('delete from users where id = $1', [id]);
    clock += 10_000; // remembered for ttlMs, the last millisecond included
    expect(await accounts.find(id)).toEqual({ displayName: 'Cached Carl', isGuest: true });
    clock += 1;
    expect(await accounts.find(id)).toBeNull();
    // A missing account is asked about again: created later, it is found, as the row now says.
    await db.query("insert into users (id, email, display_name, is_guest, created_at) values ($1, null, 'Back Again', false, now())", [id]);
    expect(await accounts.find(id)).toEqual({ displayName: 'Back Again', isGuest: false });
  });

  it('keeps at most maxEntries accounts', async () => {
    const accounts = createAccounts(createSql(orm), { ttlMs: 60_000, maxEntries: 2 });
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) await db.query("insert into users (id, email, display_name, is_guest, created_at) values ($1, null, 'N', true, now())", [id]);
    for (const id of ids) await accounts.find(id);
    await db.query('delete from users where id = any($1)', [ids]);
    // The oldest was let go, so its deletion shows at once; the two newest are still remembered.
    expect(await accounts.find(ids[0]!)).toBeNull();
    expect(await accounts.find(ids[2]!)).toEqual({ displayName: 'N', isGuest: true });
  });
});
