import { randomBytes } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { Client } from 'pg';
import { testDatabaseUrl } from '../support/env';
import { startServer, uniqueEmail, type TestServer } from '../support/server';

// "No input from a client may crash a node or leave state half written": every auth route fed
// odd and hostile bodies must answer a 4xx problem, never a 5xx, and create no account. Every
// body that could name an account carries this run's marker, so the check ignores other tests.
const marker = `hostile${randomBytes(4).toString('hex')}`;
const email = (local = marker) => `${local}@example.test`;

const bodies: Array<[string, string]> = [
  ['empty body', ''],
  ['null', 'null'],
  ['a number', '42'],
  ['a string', '"hello"'],
  ['an array', `["${marker}"]`],
  ['nested arrays', '[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]'],
  ['deep object', `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`],
  ['__proto__ key', `{"__proto__":{"is_guest":true},"display_name":"${marker}"}`],
  ['constructor key', `{"constructor":{"prototype":{"admin":true}},"display_name":"${marker}"}`],
  ['wrong types', '{"email":123,"password":true,"display_name":{"x":1}}'],
  ['null fields', '{"email":null,"password":null,"display_name":null}'],
  ['huge number', '{"display_name":1e999}'],
  ['NUL in email', JSON.stringify({ email: email(`${marker}\u0000`), password: 'password123', display_name: marker })],
  ['lone surrogate in the name', JSON.stringify({ email: email(), password: 'password123', display_name: `${marker}\ud800` })],
  ['lone surrogate in the password', JSON.stringify({ email: email(), password: 'password\udc00123', display_name: marker })],
  ['very long email', JSON.stringify({ email: email(`${marker}${'a'.repeat(300)}`), password: 'password123', display_name: marker })],
  ['very long password', JSON.stringify({ email: email(), password: 'p'.repeat(5000), display_name: marker })],
  ['whitespace name', JSON.stringify({ email: email(), password: 'password123', display_name: '   \t  ' })],
  ['duplicate keys', `{"display_name":"${marker}","display_name":{"b":1}}`],
  ['trailing garbage', `{"display_name":"${marker}"} trailing`],
];

const routes = ['/api/v1/auth/register', '/api/v1/auth/login', '/api/v1/auth/guest'];

let server: TestServer;
let db: Client;
beforeAll(async () => {
  server = await startServer();
  db = new Client({ connectionString: testDatabaseUrl });
  await db.connect();
});
afterAll(async () => {
  await server.close();
  await db.end();
});

const accountsMadeByThisFile = async () =>
  Number((await db.query("select count(*) from users where email like '%' || $1 || '%' or display_name like '%' || $1 || '%'", [marker])).rows[0].count);

describe.each(routes)('POST %s', (route) => {
  it.each(bodies)('answers %s with a 4xx problem and creates nothing', async (_label, rawBody) => {
    const response = await server.request('POST', route, { rawBody, headers: { 'content-type': 'application/json' } });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body.code).toMatch(/^[A-Z_]+$/);
    expect(await accountsMadeByThisFile()).toBe(0);
  });
});

describe('compressed bodies', () => {
  const json = { 'content-type': 'application/json' };
  const guestBody = () => JSON.stringify({ display_name: marker });

  it.each(['gzip', 'deflate', 'br'])('answers a corrupt %s body with 400 MALFORMED_JSON and creates nothing', async (encoding) => {
    for (const rawBody of ['notgzip', gzipSync(guestBody()).subarray(0, 12)]) {
      const response = await server.request('POST', '/api/v1/auth/guest', { rawBody, headers: { ...json, 'content-encoding': encoding } });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ code: 'MALFORMED_JSON', status: 400 });
    }
    expect(await accountsMadeByThisFile()).toBe(0);
  });

  it('answers a content-encoding it does not know with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const encoding of ['compress', 'x-unknown', 'gzip, gzip']) {
      const response = await server.request('POST', '/api/v1/auth/guest', { rawBody: guestBody(), headers: { ...json, 'content-encoding': encoding } });
      expect({ encoding, status: response.status, code: response.body.code }).toEqual({ encoding, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
    expect(await accountsMadeByThisFile()).toBe(0);
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('takes a valid %s body', async (encoding, compress) => {
    const response = await server.request('POST', '/api/v1/auth/guest', {
      rawBody: compress(JSON.stringify({ display_name: 'Zipped' })),
      headers: { ...json, 'content-encoding': encoding },
    });
    expect(response.status).toBe(201);
    expect(response.body.user).toMatchObject({ display_name: 'Zipped', is_guest: true });
  });
});

describe('bodies that are not UTF-8', () => {
  const json = { 'content-type': 'application/json' };
  // An overlong "/", bytes that never occur in UTF-8, and an encoded UTF-16 surrogate.
  const invalid = Buffer.from([0xc0, 0xaf, 0xff, 0xfe, 0xed, 0xa0, 0x80]);
  /** A JSON body with `bytes` inside one of its strings: `before` ends inside an open string. */
  const withBytes = (before: string, bytes: Buffer, after: string) => Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]);
  let host: { access_token: string };

  beforeAll(async () => {
    // Not named with the marker: the checks below count the accounts that are.
    host = (await server.request('POST', '/api/v1/auth/register', { body: { email: uniqueEmail('utf8-host'), password: 'password123', display_name: 'Host' } }))
      .body;
  });
  const roomsMadeByThisFile = async () => Number((await db.query("select count(*) from rooms where name like '%' || $1 || '%'", [marker])).rows[0].count);

  it.each([
    ['the bytes of the issue', invalid],
    ['a lone 0xFF', Buffer.from([0xff])],
    ['a truncated sequence', Buffer.from([0xe2, 0x82])],
  ])('refuses %s in a room name with 400 VALIDATION_FAILED and creates no room', async (_label, bytes) => {
    const rawBody = withBytes(`{"name":"${marker}`, bytes, '"}');
    const response = await server.request('POST', '/api/v1/meetings', { token: host.access_token, rawBody, headers: json });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: '', message: expect.stringMatching(/UTF-8/) }] });
    expect(await roomsMadeByThisFile()).toBe(0);
  });

  it('refuses a password with byte 0xFF: no account, so nobody can sign in with it', async () => {
    const address = email(`${marker}ff`);
    const rawBody = withBytes(`{"email":"${address}","password":"password`, Buffer.from([0xff]), `123","display_name":"${marker}"}`);
    const response = await server.request('POST', '/api/v1/auth/register', { rawBody, headers: json });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: '', message: expect.stringMatching(/UTF-8/) }] });
    expect(await accountsMadeByThisFile()).toBe(0);
    // What the server would have stored: the byte read as U+FFFD.
    const login = await server.request('POST', '/api/v1/auth/login', { body: { email: address, password: 'password\ufffd123' } });
    expect(login.status).toBe(401);
  });

  it('refuses a body in another charset with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const rawBody = Buffer.from(JSON.stringify({ display_name: marker }), 'utf16le');
    const response = await server.request('POST', '/api/v1/auth/guest', { rawBody, headers: { 'content-type': 'application/json; charset=utf-16le' } });
    expect({ status: response.status, code: response.body.code }).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(await accountsMadeByThisFile()).toBe(0);
  });

  it('takes well-formed UTF-8 of every length, with or without charset=utf-8', async () => {
    for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8']) {
      const rawBody = Buffer.from(JSON.stringify({ name: 'Zoë’s 会議 🎉' }), 'utf8');
      const response = await server.request('POST', '/api/v1/meetings', { token: host.access_token, rawBody, headers: { 'content-type': contentType } });
      expect(response.status).toBe(201);
      expect(response.body.name).toBe('Zoë’s 会議 🎉');
    }
  });
});

describe('odd Authorization headers', () => {
  it.each([
    ['a 12 kB token', `Bearer ${'a'.repeat(12_000)}`],
    ['two tokens', 'Bearer a.b.c Bearer d.e.f'],
    ['a token of dots', 'Bearer ...'],
    ['lower-case scheme with an unsigned JWT', 'bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'],
    ['non-ASCII', 'Bearer t\u00f6ken'],
  ])('answers %s with 401', async (_label, authorization) => {
    const response = await server.request('GET', '/api/v1/auth/me', { headers: { authorization } });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('UNAUTHENTICATED');
  });
});

describe('meetings routes', () => {
  let token: string;
  let code: string;
  const settings = { lock_room: false, enable_transcription: false, max_participants: 100 };

  beforeAll(async () => {
    const host = await server.request('POST', '/api/v1/auth/register', {
      body: { email: email(`${marker}host`), password: 'password123', display_name: 'Host' },
    });
    token = host.body.access_token;
    code = (await server.request('POST', '/api/v1/meetings', { token, body: { name: 'Target' } })).body.room_code;
  });

  const roomsMadeByThisFile = async () => Number((await db.query("select count(*) from rooms where name like '%' || $1 || '%'", [marker])).rows[0].count);

  // An empty JSON body is `{}`: a valid join or config (which changes nothing), so it is not hostile there.
  const routes: Array<[string, string, () => string, Array<[string, string]>]> = [
    ['POST', 'create', () => '/api/v1/meetings', bodies],
    ['POST', 'join', () => `/api/v1/meetings/${code}/join`, bodies.filter(([label]) => label !== 'empty body')],
    ['PATCH', 'config', () => `/api/v1/meetings/${code}/config`, bodies.filter(([label]) => label !== 'empty body')],
  ];

  describe.each(routes)('%s %s', (method, _name, path, cases) => {
    it.each(cases)('answers %s with a 4xx problem and changes nothing', async (_label, rawBody) => {
      const response = await server.request(method, path(), { token, rawBody, headers: { 'content-type': 'application/json' } });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(response.body.code).toMatch(/^[A-Z_]+$/);
      expect(await roomsMadeByThisFile()).toBe(0);
      const room = await server.request('GET', `/api/v1/meetings/${code}`, { token });
      expect(room.body).toMatchObject({ status: 'pending', participant_count: 0, settings });
    });
  });
});
