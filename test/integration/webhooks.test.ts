import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { verifyWebhook } from '../../src/webhooks/signature';
import type { WebhookEvent, WebhookEventType } from '../../src/webhooks/webhook-events';
import { startNode, type ClusterNode } from '../support/cluster';
import { testDatabaseUrl, testRedisUrl } from '../support/env';
import { createRoom, guestUser, hostUser, meetings, uniqueRedisPrefix } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { startServer, type Endpoint, type TestServer } from '../support/server';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

// docs/webhooks.md: lifecycle events from a PostgreSQL outbox, signed, retried, in order per room.

const secret = `whsec_${randomBytes(32).toString('base64')}`;
let db: Client;
let receiver: WebhookReceiver;
const servers: TestServer[] = [];
const nodes: ClusterNode[] = [];

beforeAll(async () => {
  db = new Client({ connectionString: testDatabaseUrl });
  await db.connect();
});

beforeEach(async () => {
  receiver = await startWebhookReceiver();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  for (const node of nodes.splice(0)) node.process.kill('SIGKILL');
  await receiver.close();
  // What a test left undelivered (a room whose receiver hangs) must not reach another test's receiver.
  await db.query(`delete from webhook_deliveries where status = 'pending' and endpoint like $1`, [`${receiver.url.replace('/hooks', '')}%`]);
});

afterAll(() => db.end());

const webhookEnv = (extra: Record<string, string> = {}) => ({
  WEBHOOK_URL: receiver.url,
  WEBHOOK_SECRET: secret,
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_TIMEOUT_MS: '1000',
  ...extra,
});

/** `npm run webhooks -- …` as an operator runs it (from source, against the test database). */
async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/webhooks/webhooks.main.ts', ...args], {
    cwd: resolve(__dirname, '../..'),
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: testDatabaseUrl },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  return { code, stdout, stderr };
}

async function server(env: Record<string, string> = {}): Promise<TestServer> {
  const started = await startServer(webhookEnv(env));
  servers.push(started);
  return started;
}

/** `count` events of one room queued for the receiver before any node runs: their ids in queue order. */
async function queueEvents(roomCode: string, count: number): Promise<string[]> {
  const { rows } = await db.query<{ seq: string; event_id: string }>(
    `insert into webhook_deliveries (id, event_id, endpoint, room_code, type, body, created_at)
     select gen_random_uuid(), e.id, $1, $2, 'room.settings_updated', jsonb_build_object('id', e.id, 'room_code', $2::text, 'type', 'room.settings_updated'), now()
       from (select gen_random_uuid() as id from generate_series(1, $3::int)) e
     returning seq, event_id`,
    [receiver.url, roomCode, count],
  );
  return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map((row) => row.event_id);
}

/** A locked room with the whole lifecycle: start, a guest admitted, one rejected, settings, a leave, the end. */
async function meetingLifecycle(api: Endpoint): Promise<{ code: string; expected: WebhookEventType[] }> {
  const call = meetings(api);
  const host = await hostUser(api);
  const code = (await createRoom(api, host, { name: 'Webhooks', settings: { lock_room: true } })).room_code;
  expect((await call(host, 'POST', `/${code}/join`, {})).status).toBe(200);
  const ann = await guestUser(api, 'Ann');
  const bob = await guestUser(api, 'Bob');
  expect((await call(ann, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');
  expect((await call(host, 'POST', `/${code}/admit/${ann.userId}`)).status).toBe(200);
  expect((await call(bob, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');
  expect((await call(host, 'POST', `/${code}/reject/${bob.userId}`)).status).toBe(200);
  expect((await call(host, 'PATCH', `/${code}/config`, { max_participants: 10 })).status).toBe(200);
  expect((await call(ann, 'POST', `/${code}/leave`)).status).toBe(200);
  expect((await call(host, 'POST', `/${code}/end`)).status).toBe(200);
  return {
    code,
    expected: [
      'room.created',
      'room.started',
      'participant.joined',
      'lobby.entered',
      'lobby.admitted',
      'participant.joined',
      'lobby.entered',
      'lobby.rejected',
      'room.settings_updated',
      'participant.left',
      'participant.left',
      'room.ended',
    ],
  };
}

describe('webhooks on one node', () => {
  it('posts every lifecycle event of a meeting once, in order, signed, in the documented shapes', async () => {
    const api = await server();
    const { code, expected } = await meetingLifecycle(api);
    await receiver.until(() => receiver.acknowledged(code).length === expected.length);
    const events = receiver.acknowledged(code);
    expect(events.map((event) => event.type)).toEqual(expected);
    expect(new Set(events.map((event) => event.id)).size).toBe(expected.length);

    for (const delivery of receiver.received.filter((r) => r.event.room_code === code)) {
      expect(delivery.headers['content-type']).toBe('application/json');
      const verified = verifyWebhook<WebhookEvent>(secret, delivery.headers, delivery.body);
      expect(verified.id).toBe(delivery.headers['webhook-id']);
    }
    const [created, started, hostJoined, , admitted, annJoined, , rejected, settings, annLeft, hostLeft, ended] = events as WebhookEvent[];
    expect(created).toMatchObject({ room_code: code, data: { room: { room_code: code, status: 'pending', participant_count: 0, lobby_count: 0 } } });
    expect(created!.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(started!.data).toMatchObject({ room: { status: 'active' } });
    expect(hostJoined!.data).toMatchObject({ participant: { role: 'host', display_name: 'Host' } });
    expect(admitted!.data).toMatchObject({ entry: { display_name: 'Ann', waiting_since: expect.any(String) } });
    expect(annJoined!.data).toMatchObject({ participant: { role: 'guest', display_name: 'Ann' } });
    expect(rejected!.data).toMatchObject({ entry: { display_name: 'Bob' } });
    expect(settings!.data).toMatchObject({ room: { settings: { max_participants: 10, lock_room: true } } });
    expect(annLeft!.data).toMatchObject({ participant: { display_name: 'Ann' }, reason: 'left' });
    expect(hostLeft!.data).toMatchObject({ participant: { role: 'host' }, reason: 'ended' });
    expect(ended!.data).toMatchObject({ room: { status: 'ended', ended_at: expect.any(String) } });

    const { rows } = await db.query(`select status, count(*)::int as n from webhook_deliveries where room_code = $1 group by status`, [code]);
    expect(rows).toEqual([{ status: 'delivered', n: expected.length }]);

    const metrics = (await api.request('GET', '/metrics')).body as string;
    expect(Number(/^webhook_attempts_total\{outcome="delivered",node="[^"]+"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(expected.length);
    expect(metrics).toMatch(/^webhook_deliveries_pending\{node="[^"]+"\} \d+$/m);
    expect(metrics).toMatch(/^webhook_attempt_duration_seconds_count\{node="[^"]+"\} \d+$/m);
  });

  it('posts each event of a burst of joins and leaves once, with its own participant, however the room batched their writes', async () => {
    const api = await server();
    const call = meetings(api);
    const host = await hostUser(api);
    const code = (await createRoom(api, host, { name: 'Burst', settings: { max_participants: 20 } })).room_code;
    expect((await call(host, 'POST', `/${code}/join`, {})).status).toBe(200);
    const guests = await Promise.all(Array.from({ length: 12 }, (_, i) => guestUser(api, `Guest ${i}`)));
    // Sent at once: the room writes the commands that queue behind a write together (room-batch.ts).
    expect((await Promise.all(guests.map((guest) => call(guest, 'POST', `/${code}/join`, {})))).map((r) => r.status)).toEqual(guests.map(() => 200));
    expect((await Promise.all(guests.map((guest) => call(guest, 'POST', `/${code}/leave`)))).map((r) => r.status)).toEqual(guests.map(() => 200));
    const expected = 3 + 2 * guests.length; // created, started, the host's join, then each guest's join and leave
    await receiver.until(() => receiver.acknowledged(code).length === expected);
    const events = receiver.acknowledged(code);
    expect(new Set(events.map((event) => event.id)).size).toBe(expected);
    const of = (type: WebhookEventType) =>
      events.filter((event) => event.type === type).map((event) => (event.data as { participant: { display_name: string } }).participant.display_name);
    const names = guests.map((guest) => guest.name).sort();
    expect(of('participant.joined').sort()).toEqual(['Host', ...names].sort());
    expect(of('participant.left').sort()).toEqual(names);
    for (const guest of guests) {
      const at = (type: WebhookEventType) =>
        events.findIndex((e) => e.type === type && (e.data as { participant: { display_name: string } }).participant.display_name === guest.name);
      expect(at('participant.joined')).toBeLessThan(at('participant.left'));
    }
    for (const left of events.filter((event) => event.type === 'participant.left'))
      expect(left.data).toMatchObject({ reason: 'left', participant: { role: 'guest' } });
  });

  it('deletes delivered and failed rows older than WEBHOOK_RETENTION_DAYS, and keeps the rest', async () => {
    const row = (status: string, ageDays: number) =>
      db.query(
        `insert into webhook_deliveries (id, event_id, endpoint, room_code, type, body, status, created_at)
         values (gen_random_uuid(), gen_random_uuid(), $1, 'retention-test', 'room.created', '{}', $2, now() - make_interval(days => $3)) returning seq`,
        [`${receiver.url}/retention`, status, ageDays],
      );
    const oldDelivered = await row('delivered', 8);
    const oldFailed = await row('failed', 8);
    const recent = await row('delivered', 6);
    await server({ WEBHOOK_RETENTION_DAYS: '7' });
    const left = async () =>
      (
        await db.query('select seq from webhook_deliveries where seq = any($1::bigint[])', [[oldDelivered, oldFailed, recent].map((r) => r.rows[0].seq)])
      ).rows.map((r) => r.seq);
    for (let waited = 0; (await left()).length > 1 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await left()).toEqual([recent.rows[0].seq]);
    await db.query('delete from webhook_deliveries where seq = $1', [recent.rows[0].seq]);
  });

  it('retries failures with backoff until the receiver answers, keeping each room in order', async () => {
    const api = await server();
    // The first 8 posts fail (500), whichever rooms they belong to.
    receiver.answer = (_event, received) => (received.length < 8 ? 500 : 200);
    const [one, two] = await Promise.all([meetingLifecycle(api), meetingLifecycle(api)]);
    for (const { code, expected } of [one!, two!]) {
      await receiver.until(() => receiver.acknowledged(code).length === expected.length);
      expect(receiver.acknowledged(code).map((event) => event.type)).toEqual(expected);
    }
    expect(receiver.received.filter((r) => r.answer === 500)).toHaveLength(8);
    // A retry is the same event: the same id, body and Webhook-Id.
    const first = receiver.received.find((r) => [one!.code, two!.code].includes(r.event.room_code) && r.answer === 500)!;
    const retried = receiver.received.find((r, index) => index > 0 && r.event.id === first.event.id)!;
    expect(retried.body).toBe(first.body);
    expect(retried.headers['webhook-id']).toBe(first.headers['webhook-id']);
  });

  it('delivers a queued backlog in order when a post in the middle of it fails, attempting no row after it meanwhile', async () => {
    // Six events of one room already queued when the node starts: it leases them as one run.
    const code = `run-${randomBytes(4).toString('hex')}`;
    const ids = await queueEvents(code, 6);
    receiver.answer = (event, received) => (event.id === ids[2] && !received.some((r) => r.event.id === ids[2]) ? 500 : 200);
    await server();
    await receiver.until(() => receiver.acknowledged(code).length === ids.length);

    expect(receiver.acknowledged(code).map((event) => event.id)).toEqual(ids);
    expect(receiver.received.filter((r) => r.event.room_code === code).map((r) => [ids.indexOf(r.event.id), r.answer])).toEqual([
      [0, 200],
      [1, 200],
      [2, 500],
      [2, 200],
      [3, 200],
      [4, 200],
      [5, 200],
    ]);
    // The rows after the failed one were given back unattempted: each counts the one attempt that reached the receiver.
    for (let waited = 0; waited < 5000; waited += 50) {
      const { rows: left } = await db.query(`select count(*)::int as n from webhook_deliveries where room_code = $1 and status = 'pending'`, [code]);
      if (left[0].n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const attempts = await db.query(`select attempts from webhook_deliveries where room_code = $1 and status = 'delivered' order by seq`, [code]);
    expect(attempts.rows.map((row) => row.attempts)).toEqual([1, 1, 2, 1, 1, 1]);
  });

  it('ends a run before its lease when the receiver is slow, so a second node delivering never posts an event twice', async () => {
    const code = `slow-${randomBytes(4).toString('hex')}`;
    const ids = await queueEvents(code, 8);
    // Each answer takes 0.9 s; the lease is the 2 s timeout plus 5 s: eight posts in one run would outlast it.
    // (With a 1 s timeout, an answer that a loaded machine delayed by 0.1 s timed out and was rightly posted again.)
    receiver.answer = () => ({ status: 200, afterMs: 900 });
    await Promise.all([server({ WEBHOOK_TIMEOUT_MS: '2000' }), server({ WEBHOOK_TIMEOUT_MS: '2000' })]);
    await receiver.until(() => receiver.acknowledged(code).length >= ids.length, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.received.filter((r) => r.event.room_code === code).map((r) => ids.indexOf(r.event.id))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  }, 40_000);

  it('does not let a receiver that hangs on one room hold up the others', async () => {
    const api = await server();
    const call = meetings(api);
    const host = await hostUser(api);
    const stuck = (await createRoom(api, host)).room_code;
    receiver.answer = (event) => (event.room_code === stuck ? 'hang' : 200);
    expect((await call(host, 'POST', `/${stuck}/join`, {})).status).toBe(200);
    const { code, expected } = await meetingLifecycle(api);
    await receiver.until(() => receiver.acknowledged(code).length === expected.length);
    // The stuck room's first event is still in flight or waiting to be retried; nothing after it went out.
    expect(receiver.received.filter((r) => r.event.room_code === stuck).every((r) => r.event.type === 'room.created')).toBe(true);
  });

  it('posts each event to every endpoint of WEBHOOK_URL', async () => {
    const second = await startWebhookReceiver();
    try {
      const api = await server({ WEBHOOK_URL: `${receiver.url},${second.url}` });
      const { code, expected } = await meetingLifecycle(api);
      await receiver.until(() => receiver.acknowledged(code).length === expected.length);
      await second.until(() => second.acknowledged(code).length === expected.length);
      expect(second.acknowledged(code).map((event) => event.id)).toEqual(receiver.acknowledged(code).map((event) => event.id));
    } finally {
      await second.close();
    }
  });

  it('keeps a delivery that used up its attempts as failed, listed and replayable from the CLI', async () => {
    receiver.answer = () => 500;
    const api = await server({ WEBHOOK_MAX_ATTEMPTS: '2' });
    const host = await hostUser(api);
    const code = (await createRoom(api, host)).room_code;
    await receiver.until(() => receiver.received.filter((r) => r.event.room_code === code).length === 2);
    const failedRow = async () => (await db.query(`select status, attempts, last_error from webhook_deliveries where room_code = $1`, [code])).rows[0];
    for (let waited = 0; (await failedRow()).status !== 'failed' && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await failedRow()).toEqual({ status: 'failed', attempts: 2, last_error: 'answered 500' });

    const listed = await cli(['failed', '1000']);
    const mine = listed.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .find((row) => row.room_code === code);
    expect(mine).toMatchObject({ type: 'room.created', attempts: 2, last_error: 'answered 500', endpoint: receiver.url });

    receiver.answer = () => 200;
    expect((await cli(['replay', mine.event_id])).stdout).toMatch(/^1 failed deliveries queued again/);
    await receiver.until(() => receiver.acknowledged(code).length === 1);
    // The node records the delivery once the receiver's 200 reaches it.
    for (let waited = 0; (await failedRow()).status !== 'delivered' && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await failedRow()).status).toBe('delivered');
    expect((await cli(['replay', 'not-an-id'])).code).toBe(1);
  });

  it('writes no outbox rows when WEBHOOK_URL is unset', async () => {
    const api = await startServer();
    servers.push(api);
    const { code } = await meetingLifecycle(api);
    const { rows } = await db.query('select count(*)::int as n from webhook_deliveries where room_code = $1', [code]);
    expect(rows[0].n).toBe(0);
  });
});

describe('webhooks in a cluster', () => {
  it('delivers, from another node, the events of a node killed with -9 before it could', async () => {
    const prefix = uniqueRedisPrefix();
    const shared = {
      JWT_SECRET: randomBytes(32).toString('base64url'),
      REDIS_URL: testRedisUrl,
      REDIS_PREFIX: prefix,
      ...webhookEnv({ WEBHOOK_TIMEOUT_MS: '2000' }),
    };
    try {
      // The receiver hangs: node A's first attempts stay in flight until A is killed.
      receiver.answer = () => 'hang';
      const a = await startNode({ ...shared, NODE_ID: `hooks-a-${randomBytes(2).toString('hex')}` });
      nodes.push(a);
      const { code, expected } = await meetingLifecycle(a);
      await receiver.until((received) => received.some((r) => r.event.room_code === code));
      a.process.kill('SIGKILL');
      await a.exited;

      receiver.answer = () => 200;
      const b = await startNode({ ...shared, NODE_ID: `hooks-b-${randomBytes(2).toString('hex')}` });
      nodes.push(b);
      // B takes the rows over once A's leases lapse (A's timeout plus 5 s).
      await receiver.until(() => receiver.acknowledged(code).length === expected.length, 30_000);
      expect(receiver.acknowledged(code).map((event) => event.type)).toEqual(expected);
      // A repeat is only ever the same event again: at least once, never two ids for one event.
      const received = receiver.received.filter((r) => r.event.room_code === code);
      for (const r of received) expect(r.headers['webhook-id']).toBe(r.event.id);
      expect(new Set(received.map((r) => r.event.id)).size).toBe(expected.length);
    } finally {
      await deleteRedisPrefix(prefix);
    }
  }, 60_000);
});
