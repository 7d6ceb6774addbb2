import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import jwt from 'jsonwebtoken';
import pino from 'pino';
import { Client } from 'pg';
import { testDatabaseUrl } from '../support/env';
import { until } from '../support/redis-servers';
import { registerUser, startServer, uniqueEmail, type TestServer } from '../support/server';

const guestTtlS = 900;
let server: TestServer;
let db: Client;
const logLines: string[] = [];

beforeAll(async () => {
  // A real logger, so that we can check what reaches the logs (never a password or a token).
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  server = await startServer({ GUEST_TOKEN_TTL_S: String(guestTtlS), JWT_SECRET: 'auth-test-secret-0123456789abcdef0123' }, pino({ level: 'debug' }, sink));
  db = new Client({ connectionString: testDatabaseUrl });
  await db.connect();
});

afterAll(async () => {
  await server.close();
  await db.end();
});

const countUsers = async (email: string) => Number((await db.query('select count(*) from users where email = $1', [email])).rows[0].count);

describe('register, login, me', () => {
  it('registers, logs in and identifies the user', async () => {
    const email = uniqueEmail('ann');
    const registered = await server.request('POST', '/api/v1/auth/register', {
      body: { email, password: 'correct horse battery', display_name: 'Ann' },
    });
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 3600,
      user: { id: expect.any(String), email, display_name: 'Ann', is_guest: false },
    });

    const loggedIn = await server.request('POST', '/api/v1/auth/login', { body: { email, password: 'correct horse battery' } });
    expect(loggedIn.status).toBe(200);
    expect(loggedIn.body.user).toEqual(registered.body.user);

    const me = await server.request('GET', '/api/v1/auth/me', { token: loggedIn.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(registered.body.user);
  });

  it('normalises emails: case and surrounding spaces do not make a new account', async () => {
    const email = uniqueEmail('Case');
    const registered = await server.request('POST', '/api/v1/auth/register', {
      body: { email: `  ${email.toUpperCase()} `, password: 'correct horse battery', display_name: ' Bo ' },
    });
    expect(registered.status).toBe(201);
    expect(registered.body.user).toMatchObject({ email: email.toLowerCase(), display_name: 'Bo' });

    const again = await server.request('POST', '/api/v1/auth/register', {
      body: { email: email.toLowerCase(), password: 'another password', display_name: 'Bo' },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('EMAIL_TAKEN');

    const login = await server.request('POST', '/api/v1/auth/login', { body: { email: email.toUpperCase(), password: 'correct horse battery' } });
    expect(login.status).toBe(200);
  });

  it('answers 409 EMAIL_TAKEN for a duplicate email and keeps one account', async () => {
    const { credentials } = await registerUser(server);
    const duplicate = await server.request('POST', '/api/v1/auth/register', { body: credentials });
    expect(duplicate.status).toBe(409);
    expect(duplicate.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(duplicate.body).toMatchObject({ status: 409, code: 'EMAIL_TAKEN' });
    expect(await countUsers(credentials.email)).toBe(1);
  });

  it('lets exactly one of many concurrent registrations of one email win', async () => {
    const email = uniqueEmail('race');
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () =>
        server.request('POST', '/api/v1/auth/register', { body: { email, password: 'correct horse battery', display_name: 'Racer' } }),
      ),
    );
    expect(attempts.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    expect(attempts.filter((a) => a.status === 409).every((a) => a.body.code === 'EMAIL_TAKEN')).toBe(true);
    expect(await countUsers(email)).toBe(1);
  });

  it('answers 401 INVALID_CREDENTIALS for a wrong password and for an unknown email alike', async () => {
    const { credentials } = await registerUser(server);
    const wrongPassword = await server.request('POST', '/api/v1/auth/login', { body: { email: credentials.email, password: 'wrong password' } });
    const unknownEmail = await server.request('POST', '/api/v1/auth/login', { body: { email: uniqueEmail('nobody'), password: 'wrong password' } });
    for (const response of [wrongPassword, unknownEmail]) {
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('INVALID_CREDENTIALS');
    }
    expect(unknownEmail.body).toEqual(wrongPassword.body);
  });

  it('stores a password hash, never the password', async () => {
    const { credentials } = await registerUser(server);
    const { rows } = await db.query('select password_hash from users where email = $1', [credentials.email]);
    expect(rows[0].password_hash).toMatch(/^scrypt\$/);
    expect(rows[0].password_hash).not.toContain(credentials.password);
  });
});

describe('login throttling', () => {
  it('refuses an account after 10 failed logins from one address, even with the right password, and only that account', async () => {
    const { credentials } = await registerUser(server);
    const other = await registerUser(server);
    for (let attempt = 0; attempt < 10; attempt++) {
      const failed = await server.request('POST', '/api/v1/auth/login', { body: { email: credentials.email, password: `wrong-${attempt}-guess` } });
      expect(failed.status).toBe(401);
    }
    // The same account spelled differently shares the budget.
    const throttled = await server.request('POST', '/api/v1/auth/login', {
      body: { email: ` ${credentials.email.toUpperCase()}`, password: credentials.password },
    });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(throttled.body).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);

    const unaffected = await server.request('POST', '/api/v1/auth/login', { body: { email: other.credentials.email, password: other.credentials.password } });
    expect(unaffected.status).toBe(200);
  });

  it('never throttles successful logins', async () => {
    const { credentials } = await registerUser(server);
    for (let attempt = 0; attempt < 12; attempt++) {
      const ok = await server.request('POST', '/api/v1/auth/login', { body: { email: credentials.email, password: credentials.password } });
      expect(ok.status).toBe(200);
    }
  });
});

describe('guest sessions', () => {
  it('creates a guest account with a guest token of the guest lifetime', async () => {
    const guest = await server.request('POST', '/api/v1/auth/guest', { body: { display_name: 'Visitor' } });
    expect(guest.status).toBe(201);
    expect(guest.body).toEqual({
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: guestTtlS,
      user: { id: expect.any(String), email: null, display_name: 'Visitor', is_guest: true },
    });
    expect(jwt.decode(guest.body.access_token)).toMatchObject({ sub: guest.body.user.id, guest: true });

    const me = await server.request('GET', '/api/v1/auth/me', { token: guest.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(guest.body.user);
  });

  it('gives two guests with the same name two accounts', async () => {
    const a = await server.request('POST', '/api/v1/auth/guest', { body: { display_name: 'Same' } });
    const b = await server.request('POST', '/api/v1/auth/guest', { body: { display_name: 'Same' } });
    expect(a.body.user.id).not.toBe(b.body.user.id);
  });
});

describe('bearer tokens', () => {
  const expectUnauthenticated = (response: { status: number; body: any; headers: Headers }) => {
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  };

  it('rejects a missing token', async () => {
    expectUnauthenticated(await server.request('GET', '/api/v1/auth/me'));
  });

  it('rejects garbage and non-bearer schemes', async () => {
    expectUnauthenticated(await server.request('GET', '/api/v1/auth/me', { token: 'garbage' }));
    expectUnauthenticated(await server.request('GET', '/api/v1/auth/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }));
    expectUnauthenticated(await server.request('GET', '/api/v1/auth/me', { headers: { authorization: 'Bearer' } }));
  });

  it('rejects an expired token', async () => {
    const { user } = await registerUser(server);
    const expired = jwt.sign({ guest: false }, 'auth-test-secret-0123456789abcdef0123', { algorithm: 'HS256', subject: user.id, expiresIn: -1 });
    const response = await server.request('GET', '/api/v1/auth/me', { token: expired });
    expectUnauthenticated(response);
    expect(response.body.detail).toMatch(/expired/);
  });

  it('rejects a token signed with another secret', async () => {
    const { user } = await registerUser(server);
    const forged = jwt.sign({ guest: false }, 'some-other-secret-0123456789abcdef0123', { algorithm: 'HS256', subject: user.id, expiresIn: 60 });
    expectUnauthenticated(await server.request('GET', '/api/v1/auth/me', { token: forged }));
  });

  it("lets the account decide whether the caller is a guest, not the token's guest claim", async () => {
    const sign = (userId: string, guest: boolean) =>
      jwt.sign({ guest }, 'auth-test-secret-0123456789abcdef0123', { algorithm: 'HS256', subject: userId, expiresIn: 60 });
    const createWith = (token: string) => server.request('POST', '/api/v1/meetings', { token, body: { name: 'Who hosts?' } });
    // A guest who signed in here (this node remembers the account), and one it has to look up.
    const guest = (await server.request('POST', '/api/v1/auth/guest', { body: { display_name: 'Pretender' } })).body.user.id;
    const stored = randomUUID();
    await db.query("insert into users (id, email, display_name, is_guest, created_at) values ($1, null, 'Stored Guest', true, now())", [stored]);
    for (const userId of [guest, stored]) {
      const response = await createWith(sign(userId, false));
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 403, code: 'GUESTS_CANNOT_HOST' });
    }
    expect(Number((await db.query('select count(*) from rooms where host_id = any($1)', [[guest, stored]])).rows[0].count)).toBe(0);
    // And the other way round: a registered user is no guest, whatever the claim says.
    const { user } = await registerUser(server);
    expect((await createWith(sign(user.id, true))).status).toBe(201);
  });

  it('rejects a well-signed token for an account that does not exist', async () => {
    const ghost = jwt.sign({ guest: false }, 'auth-test-secret-0123456789abcdef0123', {
      algorithm: 'HS256',
      subject: '00000000-0000-4000-8000-000000000000',
      expiresIn: 60,
    });
    expectUnauthenticated(await server.request('GET', '/api/v1/auth/me', { token: ghost }));
  });
});

describe('bad input', () => {
  it('reports every invalid field with its path, and creates nothing', async () => {
    const email = uniqueEmail('invalid');
    const response = await server.request('POST', '/api/v1/auth/register', {
      body: { email, password: 'short', display_name: '', role: 'admin' },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      type: expect.stringContaining('validation-failed'),
      title: expect.any(String),
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    expect(response.body.errors).toEqual(
      expect.arrayContaining([
        { path: 'password', message: expect.stringContaining('8') },
        { path: 'display_name', message: expect.any(String) },
        { path: 'role', message: 'is not a known field' },
      ]),
    );
    expect(await countUsers(email)).toBe(0);
  });

  it('names missing fields and wrong types', async () => {
    const response = await server.request('POST', '/api/v1/auth/register', { body: { email: 'not-an-email', display_name: 42 } });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual(
      expect.arrayContaining([
        { path: 'email', message: expect.stringContaining('email') },
        { path: 'password', message: 'is required' },
        { path: 'display_name', message: expect.any(String) },
      ]),
    );
  });

  it('rejects a body that is not an object, or no body at all', async () => {
    const array = await server.request('POST', '/api/v1/auth/guest', { body: ['Visitor'] });
    const none = await server.request('POST', '/api/v1/auth/guest');
    for (const response of [array, none]) {
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    }
  });

  it('rejects control characters (a NUL byte would fail in PostgreSQL) with 400, not 500', async () => {
    const response = await server.request('POST', '/api/v1/auth/guest', { body: { display_name: 'a\u0000b' } });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ path: 'display_name', message: 'must not contain control characters' }]);
  });

  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    const response = await server.request('POST', '/api/v1/auth/login', { rawBody: '{"email": ', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'MALFORMED_JSON', status: 400 });
  });

  it('rejects an oversized body with 413 before parsing it', async () => {
    const response = await server.request('POST', '/api/v1/auth/guest', { body: { display_name: 'x'.repeat(64 * 1024) } });
    expect(response.status).toBe(413);
    expect(response.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers unknown routes with 404 NOT_FOUND as problem+json', async () => {
    const response = await server.request('GET', '/api/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });
});

describe('transport hygiene', () => {
  it('sets security headers and a request id, honouring a sane incoming one', async () => {
    const generated = await server.request('GET', '/healthz');
    expect(generated.headers.get('x-content-type-options')).toBe('nosniff');
    expect(generated.headers.get('x-powered-by')).toBeNull();
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // JSON answers are live state: no ETag to revalidate them with (docs/api.md).
    expect(generated.headers.get('etag')).toBeNull();

    const echoed = await server.request('GET', '/healthz', { headers: { 'x-request-id': 'lb-abc.123' } });
    expect(echoed.headers.get('x-request-id')).toBe('lb-abc.123');
    const replaced = await server.request('GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).not.toBe('bad id with spaces');
  });

  it('logs each request once, with its id, method, full URL, client address, status and time', async () => {
    const id = `access-log-${Date.now()}`;
    await server.request('GET', '/api/v1/meetings/AAAAAAAAAAAA', { headers: { 'x-request-id': id } });
    // The line is written when the response has gone out: the client may see the answer first.
    await until('the request to be logged', async () => logLines.find((line) => line.includes(id)));
    const lines = logLines.filter((line) => line.includes(id)).map((line) => JSON.parse(line));
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'request completed',
        req: { id, method: 'GET', url: '/api/v1/meetings/AAAAAAAAAAAA', remote_address: '127.0.0.1' },
        res: { status: 401 },
        responseTime: expect.any(Number),
      }),
    ]);
  });

  it('never writes a password or a token to the logs', async () => {
    const password = `secret-${Date.now()}-password`;
    const { access_token } = await registerUser(server, { password });
    await server.request('POST', '/api/v1/auth/login', { body: { email: uniqueEmail(), password } });
    await server.request('GET', '/api/v1/auth/me', { token: access_token });
    const logs = logLines.join('');
    expect(logs).toContain('/api/v1/auth/me');
    expect(logs).not.toContain(password);
    expect(logs).not.toContain(access_token);
  });
});
