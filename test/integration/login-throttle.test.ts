import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { failuresPerAccount, failuresPerAddress } from '../../src/auth/login-throttle';
import { startNode, type ClusterNode } from '../support/cluster';
import { testRedisUrl } from '../support/env';
import { deleteRedisPrefix } from '../support/redis';
import { registerUser, startServer, type Endpoint, type TestServer } from '../support/server';

// docs/api.md "Auth": failed logins are budgeted per (account, client address) and, more
// loosely, per account; the budgets live in Redis in a cluster and in each node's memory while
// Redis is unreachable. The servers trust X-Forwarded-For from loopback, so a test can speak
// from many client addresses.

const login = (server: Endpoint, email: string, password: string, from: string) =>
  server.request('POST', '/api/v1/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': from } });

/** `count` wrong passwords for `email` from `from`, one after another; their statuses. */
async function failLogins(server: Endpoint, email: string, count: number, from: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let attempt = 0; attempt < count; attempt++) statuses.push((await login(server, email, `wrong-${attempt}-guess`, from)).status);
  return statuses;
}

/** A TCP port on which nothing listens (it was free a moment ago and stays closed). */
async function deadPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const trustLoopback = { TRUST_PROXY: 'loopback' };

describe('login throttling on one node', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(trustLoopback);
  });
  afterAll(() => server.close());

  it('refuses one address after its budget, with Retry-After, while the user logs in from another', async () => {
    const { credentials } = await registerUser(server);
    expect(await failLogins(server, credentials.email, failuresPerAddress, '203.0.113.7')).toEqual(Array(failuresPerAddress).fill(401));

    const throttled = await login(server, credentials.email, credentials.password, '203.0.113.7');
    expect(throttled.status).toBe(429);
    expect(throttled.body).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    const retryAfter = Number(throttled.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);

    // The attacker's address is locked out; the account's owner, elsewhere, is not.
    expect((await login(server, credentials.email, credentials.password, '198.51.100.20')).status).toBe(200);
  });

  it('bounds guesses from many addresses with the looser per-account budget', async () => {
    const { credentials } = await registerUser(server);
    // Ten addresses, each within its own budget, spend the account's together.
    const perAddress = failuresPerAccount / 10;
    const statuses = await Promise.all(Array.from({ length: 10 }, (_, n) => failLogins(server, credentials.email, perAddress, `192.0.2.${n + 1}`)));
    expect(statuses.flat()).toEqual(Array(failuresPerAccount).fill(401));

    const fresh = await login(server, credentials.email, credentials.password, '198.51.100.99');
    expect(fresh.status).toBe(429);
    expect(fresh.body.code).toBe('RATE_LIMITED');
  }, 60_000);

  it('lets a successful login reset its own address budget', async () => {
    const { credentials } = await registerUser(server);
    expect(await failLogins(server, credentials.email, failuresPerAddress - 1, '203.0.113.50')).toEqual(Array(failuresPerAddress - 1).fill(401));
    expect((await login(server, credentials.email, credentials.password, '203.0.113.50')).status).toBe(200);
    // Without the reset, the second of these would be refused.
    expect(await failLogins(server, credentials.email, failuresPerAddress - 1, '203.0.113.50')).toEqual(Array(failuresPerAddress - 1).fill(401));
    expect((await login(server, credentials.email, credentials.password, '203.0.113.50')).status).toBe(200);
  });

  it('lets exactly the budget through when guesses race', async () => {
    const { credentials } = await registerUser(server);
    const racing = await Promise.all(Array.from({ length: 2 * failuresPerAddress }, (_, n) => login(server, credentials.email, `race-${n}`, '203.0.113.80')));
    const statuses = racing.map((response) => response.status).sort();
    expect(statuses).toEqual([...Array(failuresPerAddress).fill(401), ...Array(failuresPerAddress).fill(429)]);
  });

  it('counts neither a bad body nor another account against a budget', async () => {
    const { credentials } = await registerUser(server);
    const other = await registerUser(server);
    for (let attempt = 0; attempt < failuresPerAddress + 2; attempt++) {
      const invalid = await server.request('POST', '/api/v1/auth/login', {
        body: { email: credentials.email },
        headers: { 'x-forwarded-for': '203.0.113.90' },
      });
      expect(invalid.status).toBe(400);
    }
    expect(await failLogins(server, other.credentials.email, failuresPerAddress, '203.0.113.90')).toEqual(Array(failuresPerAddress).fill(401));
    expect((await login(server, credentials.email, credentials.password, '203.0.113.90')).status).toBe(200);
  });
});

describe('login throttling in a cluster', () => {
  const prefix = `test-throttle-${randomBytes(3).toString('hex')}:`;
  const secret = randomBytes(32).toString('base64url');
  let nodes: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    await deleteRedisPrefix(prefix);
  });

  it('shares the budgets between nodes through Redis', async () => {
    nodes = await Promise.all([1, 2].map(() => startServer({ ...trustLoopback, REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix, JWT_SECRET: secret })));
    const [a, b] = nodes as [TestServer, TestServer];
    const { credentials } = await registerUser(a);
    const half = failuresPerAddress / 2;
    expect([...(await failLogins(a, credentials.email, half, '203.0.113.30')), ...(await failLogins(b, credentials.email, half, '203.0.113.30'))]).toEqual(
      Array(failuresPerAddress).fill(401),
    );
    expect((await login(a, credentials.email, credentials.password, '203.0.113.30')).status).toBe(429);
    expect((await login(b, credentials.email, credentials.password, '203.0.113.30')).status).toBe(429);
  });
});

describe('login throttling while Redis is unreachable', () => {
  let node: ClusterNode | undefined;
  afterAll(() => {
    node?.process.kill('SIGKILL');
  });

  it('keeps a budget in the node, refuses the right password after it, and logs only JSON', async () => {
    node = await startNode({
      ...trustLoopback,
      NODE_ID: `dead-redis-${randomBytes(2).toString('hex')}`,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      REDIS_URL: `redis://127.0.0.1:${await deadPort()}`,
    });
    expect((await node.request('GET', '/readyz')).status).toBe(503);
    const { credentials } = await registerUser(node);

    expect(await failLogins(node, credentials.email, failuresPerAddress, '203.0.113.40')).toEqual(Array(failuresPerAddress).fill(401));
    const throttled = await login(node, credentials.email, credentials.password, '203.0.113.40');
    expect(throttled.status).toBe(429);
    expect(throttled.body.code).toBe('RATE_LIMITED');
    expect((await login(node, credentials.email, credentials.password, '198.51.100.40')).status).toBe(200);

    // Every line the process wrote, on stdout and stderr, is one pino JSON object.
    const lines = node.logs.flatMap((chunk) => chunk.split('\n')).filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
  }, 60_000);
});
