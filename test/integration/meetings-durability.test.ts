import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { ensureDatabase } from '../../src/persistence/ensure-database';
import { attendanceRows, waitFor, type AttendanceRow } from '../support/db';
import { databaseUrlFor, testDatabaseUrl, testRedisUrl } from '../support/env';
import { createRoom, guestUser, hostUser, liveStateModes, meetings, uniqueRedisPrefix, type Actor } from '../support/meetings';
import { deleteRedisPrefix, redisKeys } from '../support/redis';
import { startServer, type ApiResponse, type TestServer } from '../support/server';

/**
 * What the room actor promises about its stores (docs/operations.md "Data model (PostgreSQL)" and
 * "Redis keys", docs/scaling.md "How rooms run in a cluster"): an answered command is in
 * PostgreSQL, the live state is the documented projection and goes away with the room, a room
 * comes back from the stores on a fresh node, a failed effect changes nothing, and an empty room
 * ends by itself.
 */

interface RoomRow {
  status: string;
  started_at: Date | null;
  ended_at: Date | null;
  settings: Record<string, unknown>;
}

/** Reads a room and its attendance rows straight from PostgreSQL. */
function rowsOf(db: Client) {
  return {
    async room(roomCode: string): Promise<RoomRow> {
      const { rows } = await db.query<RoomRow>('select status, started_at, ended_at, settings from rooms where room_code = $1', [roomCode]);
      if (rows.length !== 1) throw new Error(`room ${roomCode}: ${rows.length} rows`);
      return rows[0]!;
    },
    attendance: (roomCode: string, userId?: string) => attendanceRows(db, roomCode, userId),
  };
}

/** Tokens must outlive a server restart, so restarted servers share one signing secret. */
const jwtSecret = { JWT_SECRET: randomBytes(32).toString('base64url') };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const userIds = (list: { user_id: string }[]) => list.map((entry) => entry.user_id).sort();

let db: Client;
let rows: ReturnType<typeof rowsOf>;
beforeAll(async () => {
  db = new Client({ connectionString: testDatabaseUrl });
  await db.connect();
  rows = rowsOf(db);
});
afterAll(() => db?.end());

describe.each(liveStateModes())('durability (%s)', (_mode, env) => {
  afterAll(async () => {
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  describe('with the default configuration', () => {
    let server: TestServer;
    let api: ReturnType<typeof meetings>;
    beforeAll(async () => {
      server = await startServer(env);
      api = meetings(server);
    });
    afterAll(() => server?.close());

    it('a 2xx means PostgreSQL has it: start, join, config, remove, leave, end', async () => {
      const host = await hostUser(server);
      const [stays, removed, leaves] = await Promise.all([guestUser(server, 'Stays'), guestUser(server, 'Removed'), guestUser(server, 'Leaves')]);
      const { room_code: code } = await createRoom(server, host, { name: 'Durable' });

      const hostJoin = await api(host, 'POST', `/${code}/join`, {});
      expect(hostJoin.status).toBe(200);
      const started = await rows.room(code);
      expect(started.status).toBe('active');
      expect(started.started_at).not.toBeNull();
      expect(started.started_at!.getTime()).toBe(Date.parse(hostJoin.body.room.started_at));
      expect(await rows.attendance(code, host.userId)).toMatchObject([{ role: 'host', left_at: null }]);

      for (const guest of [stays, removed, leaves]) {
        const joined = await api(guest, 'POST', `/${code}/join`, {});
        expect(joined.status).toBe(200);
        expect(joined.body.status).toBe('joined');
        const own = await rows.attendance(code, guest.userId);
        expect(own).toHaveLength(1);
        expect(own[0]).toMatchObject({ role: 'guest', left_at: null, left_reason: null });
        expect(own[0]!.joined_at.getTime()).toBe(Date.parse(joined.body.participant.joined_at));
      }

      const configured = await api(host, 'PATCH', `/${code}/config`, { enable_transcription: true, max_participants: 7 });
      expect(configured.status).toBe(200);
      expect(configured.body.settings).toEqual({ lock_room: false, enable_transcription: true, max_participants: 7 });
      expect((await rows.room(code)).settings).toEqual(configured.body.settings);

      expect((await api(host, 'POST', `/${code}/remove/${removed.userId}`)).status).toBe(200);
      expect(await rows.attendance(code, removed.userId)).toMatchObject([{ left_reason: 'removed' }]);
      expect((await rows.attendance(code, removed.userId))[0]!.left_at).not.toBeNull();

      expect((await api(leaves, 'POST', `/${code}/leave`)).status).toBe(200);
      expect(await rows.attendance(code, leaves.userId)).toMatchObject([{ left_reason: 'left' }]);

      const ended = await api(host, 'POST', `/${code}/end`);
      expect(ended.status).toBe(200);
      expect(ended.body.status).toBe('ended');
      const room = await rows.room(code);
      expect(room.status).toBe('ended');
      expect(room.ended_at!.getTime()).toBe(Date.parse(ended.body.ended_at));
      const all = await rows.attendance(code);
      expect(all).toHaveLength(4);
      expect(all.filter((row) => row.left_at === null)).toEqual([]);
      const reasonOf = (actor: Actor) => all.find((row) => row.user_id === actor.userId)!.left_reason;
      expect([reasonOf(host), reasonOf(stays), reasonOf(removed), reasonOf(leaves)]).toEqual(['ended', 'ended', 'removed', 'left']);
      // Those still in were closed at the end, by the end.
      for (const actor of [host, stays]) {
        expect(all.find((row) => row.user_id === actor.userId)!.left_at!.getTime()).toBe(Date.parse(ended.body.ended_at));
      }
    });
  });

  it('a removed user is still refused after a restart: bans come from PostgreSQL', async () => {
    let server = await startServer({ ...env, ...jwtSecret });
    let code: string;
    let host: Actor;
    let banned: Actor;
    try {
      const api = meetings(server);
      host = await hostUser(server);
      banned = await guestUser(server, 'Banned');
      code = (await createRoom(server, host)).room_code;
      expect((await api(host, 'POST', `/${code}/join`, {})).status).toBe(200);
      expect((await api(banned, 'POST', `/${code}/join`, {})).status).toBe(200);
      expect((await api(host, 'POST', `/${code}/remove/${banned.userId}`)).status).toBe(200);
    } finally {
      await server.close();
    }

    server = await startServer({ ...env, ...jwtSecret });
    try {
      const api = meetings(server);
      const again = await api(banned, 'POST', `/${code}/join`, {});
      expect(again.status).toBe(403);
      expect(again.body.code).toBe('REMOVED_FROM_ROOM');
      const listed = await api(host, 'GET', `/${code}/participants`);
      expect(userIds(listed.body.participants)).toEqual([host.userId]);
      await api(host, 'POST', `/${code}/end`);
    } finally {
      await server.close();
    }
  });

  it('a knock cooldown of 2 s: a rejected user gets 429 LOBBY_COOLDOWN until it is over, also from a node that took the room over', async () => {
    const cooldown = { ...env, ...jwtSecret, LOBBY_REJECT_COOLDOWN_S: '2' };
    let server = await startServer(cooldown);
    const host = await hostUser(server);
    const knocker = await guestUser(server, 'Knocker');
    let code: string;
    let rejectedAt: number;
    try {
      const api = meetings(server);
      code = (await createRoom(server, host, { name: 'Cooldown', settings: { lock_room: true } })).room_code;
      expect((await api(host, 'POST', `/${code}/join`, {})).status).toBe(200);
      expect((await api(knocker, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');
      expect((await api(host, 'POST', `/${code}/reject/${knocker.userId}`)).status).toBe(200);
      rejectedAt = Date.now();
      const refused = await api(knocker, 'POST', `/${code}/join`, {});
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: 'LOBBY_COOLDOWN', detail: expect.stringMatching(/ask to join again in [12] s$/) });
      expect(userIds((await api(host, 'GET', `/${code}/participants`)).body.lobby)).toEqual([]);
      if (env.REDIS_PREFIX) {
        const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3 });
        try {
          const until = await redis.hgetall(`${env.REDIS_PREFIX}room:{${code}}:knock_cooldowns`);
          expect(Object.keys(until)).toEqual([knocker.userId]);
          expect(Number(until[knocker.userId])).toBeGreaterThan(rejectedAt + 1000);
        } finally {
          await redis.quit();
        }
      }
    } finally {
      await server.close();
    }

    // Another node (a restart, here) loads the room with its cooldowns, where the live state survives.
    server = await startServer(cooldown);
    try {
      const api = meetings(server);
      const again = await api(knocker, 'POST', `/${code}/join`, {});
      if (env.REDIS_PREFIX) expect(again.status).toBe(429);
      await sleep(Math.max(0, rejectedAt + 2000 - Date.now()));
      await api(knocker, 'POST', `/${code}/leave`);
      expect((await api(knocker, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');
      await api(host, 'POST', `/${code}/end`);
    } finally {
      await server.close();
    }
  });

  it('co-hosts: a node that loads the room from Redis keeps them; a restarted single node forgets them', async () => {
    let server = await startServer({ ...env, ...jwtSecret });
    const host = await hostUser(server);
    const cora = await guestUser(server, 'Cora');
    let code: string;
    try {
      const api = meetings(server);
      code = (await createRoom(server, host)).room_code;
      expect((await api(host, 'POST', `/${code}/join`, {})).status).toBe(200);
      expect((await api(cora, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
      expect((await api(host, 'POST', `/${code}/co-hosts/${cora.userId}`)).body.participant.role).toBe('co_host');
    } finally {
      await server.close();
    }
    server = await startServer({ ...env, ...jwtSecret });
    try {
      const listed = await meetings(server)(host, 'GET', `/${code}/participants`);
      const role = listed.body.participants.find((p: { user_id: string }) => p.user_id === cora.userId).role;
      expect(role).toBe(env.REDIS_PREFIX ? 'co_host' : 'guest');
      await meetings(server)(host, 'POST', `/${code}/end`);
    } finally {
      await server.close();
    }
  });

  describe('solo-room timeout of 1 s', () => {
    let server: TestServer;
    let api: ReturnType<typeof meetings>;
    beforeAll(async () => {
      server = await startServer({ ...env, SOLO_ROOM_TIMEOUT_S: '1' });
      api = meetings(server);
    });
    afterAll(() => server?.close());

    it('a room left with one participant ends by itself; company keeps it going', async () => {
      const host = await hostUser(server);
      const guest = await guestUser(server);
      const { room_code: code } = await createRoom(server, host);
      expect((await api(host, 'POST', `/${code}/join`, {})).status).toBe(200);
      expect((await api(guest, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
      // Two people: well past the timeout, the room goes on.
      await sleep(1500);
      expect((await api(host, 'GET', `/${code}`)).body.status).toBe('active');

      const aloneAt = Date.now();
      expect((await api(guest, 'POST', `/${code}/leave`)).status).toBe(200);
      let details = (await api(host, 'GET', `/${code}`)).body;
      expect(details.status).toBe('active');
      await waitFor(async () => {
        details = (await api(host, 'GET', `/${code}`)).body;
        return details.status === 'ended';
      }, 3000);
      expect(Date.parse(details.ended_at)).toBeGreaterThanOrEqual(aloneAt + 1000 - 5);
      const all = await rows.attendance(code);
      expect(all.find((row) => row.user_id === host.userId)).toMatchObject({ left_reason: 'ended' });
      if (env.REDIS_PREFIX) expect(await redisKeys(`${env.REDIS_PREFIX}room:{${code}}:*`)).toEqual([]);
    });
  });

  describe('empty-room timeout of 1 s', () => {
    let server: TestServer;
    let api: ReturnType<typeof meetings>;
    beforeAll(async () => {
      server = await startServer({ ...env, EMPTY_ROOM_TIMEOUT_S: '1' });
      api = meetings(server);
    });
    afterAll(() => server?.close());

    it('an active room nobody is in ends by itself after the timeout', async () => {
      const host = await hostUser(server);
      const { room_code: code } = await createRoom(server, host);
      expect((await api(host, 'POST', `/${code}/join`, {})).status).toBe(200);

      const leftAt = Date.now();
      expect((await api(host, 'POST', `/${code}/leave`)).status).toBe(200);
      let details = (await api(host, 'GET', `/${code}`)).body;
      expect(details.status).toBe('active');
      await waitFor(async () => {
        details = (await api(host, 'GET', `/${code}`)).body;
        return details.status === 'ended';
      }, 3000);

      expect(Date.parse(details.ended_at)).toBeGreaterThanOrEqual(leftAt + 1000 - 5);
      const room = await rows.room(code);
      expect(room.status).toBe('ended');
      expect(room.ended_at!.getTime()).toBe(Date.parse(details.ended_at));
      const all = await rows.attendance(code);
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ user_id: host.userId, left_reason: 'left' });
      expect(all.filter((row) => row.left_at === null)).toEqual([]);
      if (env.REDIS_PREFIX) expect(await redisKeys(`${env.REDIS_PREFIX}room:{${code}}:*`)).toEqual([]);
      const late = await api(host, 'POST', `/${code}/join`, {});
      expect(late.status).toBe(404);
    });

    it('a host who leaves and comes back within the timeout keeps the room going', async () => {
      const host = await hostUser(server);
      const { room_code: code } = await createRoom(server, host);
      expect((await api(host, 'POST', `/${code}/join`, {})).status).toBe(200);

      const leftAt = Date.now();
      expect((await api(host, 'POST', `/${code}/leave`)).status).toBe(200);
      await sleep(300);
      const back = await api(host, 'POST', `/${code}/join`, {});
      expect(back.status).toBe(200);
      expect(back.body.status).toBe('joined');

      // Well past the first deadline (leave + 1 s).
      await sleep(Math.max(0, leftAt + 1500 - Date.now()));
      const details = await api(host, 'GET', `/${code}`);
      expect(details.body.status).toBe('active');
      expect(details.body.ended_at).toBeNull();
      expect((await rows.room(code)).status).toBe('active');
      expect((await rows.attendance(code, host.userId)).map((row) => row.left_at === null)).toEqual([false, true]);

      await api(host, 'POST', `/${code}/end`);
    });
  });
});

describe('Redis live state', () => {
  const prefix = uniqueRedisPrefix();
  const env = { REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix };
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3 });
  });
  afterAll(async () => {
    await redis?.quit();
    await deleteRedisPrefix(prefix);
  });

  it('holds the documented shapes with a TTL on every key, and nothing once the room ends', async () => {
    const server = await startServer(env);
    try {
      const api = meetings(server);
      const host = await hostUser(server, 'Hanna');
      const [inside, waiting] = await Promise.all([guestUser(server, 'Inside'), guestUser(server, 'Waiting')]);
      const { room_code: code } = await createRoom(server, host);
      const hostJoin = await api(host, 'POST', `/${code}/join`, { language: 'de', hardware_ready: true });
      const insideJoin = await api(inside, 'POST', `/${code}/join`, {});
      expect(insideJoin.body.status).toBe('joined');
      expect((await api(host, 'PATCH', `/${code}/config`, { lock_room: true })).status).toBe(200);
      const waitingJoin = await api(waiting, 'POST', `/${code}/join`, {});
      expect(waitingJoin.body.status).toBe('waiting');

      const base = `${prefix}room:{${code}}:`;
      const participants = await redis.hgetall(`${base}participants`);
      expect(Object.keys(participants).sort()).toEqual([host.userId, inside.userId].sort());
      for (const raw of Object.values(participants)) {
        expect(Object.keys(JSON.parse(raw)).sort()).toEqual(['display_name', 'hardware_ready', 'joined_at', 'language', 'media', 'role', 'status']);
      }
      expect(JSON.parse(participants[host.userId]!)).toEqual({
        status: 'disconnected',
        language: 'de',
        hardware_ready: true,
        display_name: 'Hanna',
        role: 'host',
        joined_at: hostJoin.body.participant.joined_at,
        media: null,
      });
      expect(JSON.parse(participants[inside.userId]!)).toMatchObject({
        role: 'guest',
        display_name: 'Inside',
        joined_at: insideJoin.body.participant.joined_at,
      });
      expect(await redis.type(`${base}lobby`)).toBe('set');
      expect(await redis.smembers(`${base}lobby`)).toEqual([waiting.userId]);

      const keys = await redisKeys(`${base}*`);
      expect(keys).toEqual(expect.arrayContaining([`${base}participants`, `${base}lobby`]));
      for (const key of keys) expect(await redis.pttl(key)).toBeGreaterThan(0);

      expect((await api(host, 'POST', `/${code}/end`)).status).toBe(200);
      expect(await redisKeys(`${base}*`)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a fresh node activates the room from PostgreSQL and Redis: participants, lobby and bans intact', async () => {
    let server = await startServer({ ...env, ...jwtSecret });
    let code: string;
    let host: Actor;
    let waiting: Actor;
    let banned: Actor;
    try {
      const api = meetings(server);
      host = await hostUser(server);
      [waiting, banned] = await Promise.all([guestUser(server, 'Waiting'), guestUser(server, 'Banned')]);
      code = (await createRoom(server, host)).room_code;
      expect((await api(host, 'POST', `/${code}/join`, {})).status).toBe(200);
      expect((await api(banned, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
      expect((await api(host, 'POST', `/${code}/remove/${banned.userId}`)).status).toBe(200);
      expect((await api(host, 'PATCH', `/${code}/config`, { lock_room: true })).status).toBe(200);
      expect((await api(waiting, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');
    } finally {
      await server.close();
    }

    server = await startServer({ ...env, ...jwtSecret });
    try {
      const api = meetings(server);
      const listed = await api(host, 'GET', `/${code}/participants`);
      expect(listed.status).toBe(200);
      expect(userIds(listed.body.participants)).toEqual([host.userId]);
      expect(userIds(listed.body.lobby)).toEqual([waiting.userId]);
      expect(listed.body.lobby[0].display_name).toBe('Waiting');

      const admitted = await api(host, 'POST', `/${code}/admit/${waiting.userId}`);
      expect(admitted.status).toBe(200);
      expect(admitted.body.status).toBe('admitted');
      expect(await rows.attendance(code, waiting.userId)).toMatchObject([{ role: 'guest', left_at: null }]);

      const refused = await api(banned, 'POST', `/${code}/join`, {});
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('REMOVED_FROM_ROOM');

      const after = await api(host, 'GET', `/${code}/participants`);
      expect(userIds(after.body.participants)).toEqual([host.userId, waiting.userId].sort());
      expect(after.body.lobby).toEqual([]);
      await api(host, 'POST', `/${code}/end`);
    } finally {
      await server.close();
    }
  });
});

describe('PostgreSQL failing mid-command', () => {
  // One private database, taken down once; each test below checks one thing the outage showed.
  const name = `meetings_test_outage_${randomBytes(4).toString('hex')}`;
  const url = databaseUrlFor(name);
  let admin: Client;
  let server: TestServer | undefined;
  let host: Actor;
  let guest: Actor;
  let code: string;
  const during: Record<'join' | 'configure' | 'malformed', ApiResponse | undefined> = { join: undefined, configure: undefined, malformed: undefined };
  let after: {
    join: ApiResponse;
    participants: ApiResponse;
    details: ApiResponse;
    guestRows: AttendanceRow[];
    openRows: AttendanceRow[];
    settings: Record<string, unknown>;
  };

  beforeAll(async () => {
    await ensureDatabase(url);
    admin = new Client({ connectionString: testDatabaseUrl });
    await admin.connect();
    server = await startServer({ DATABASE_URL: url, MIGRATE_ON_START: 'true' });
    const api = meetings(server);
    host = await hostUser(server);
    guest = await guestUser(server);
    code = (await createRoom(server, host)).room_code;
    expect((await api(host, 'POST', `/${code}/join`, {})).status).toBe(200);

    await admin.query(`alter database ${name} allow_connections false`);
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    during.join = await api(guest, 'POST', `/${code}/join`, {});
    // A command the live actor accepts, whose PostgreSQL effect then fails.
    during.configure = await api(host, 'PATCH', `/${code}/config`, { enable_transcription: true });
    during.malformed = await api(guest, 'POST', '/short/join', {});

    await admin.query(`alter database ${name} allow_connections true`);
    await waitFor(async () => (await server!.request('GET', '/readyz')).status === 200, 5000, 50);

    const join = await api(guest, 'POST', `/${code}/join`, {});
    const own = new Client({ connectionString: url });
    await own.connect();
    try {
      const privateRows = rowsOf(own);
      after = {
        join,
        participants: await api(host, 'GET', `/${code}/participants`),
        details: await api(host, 'GET', `/${code}`),
        guestRows: await privateRows.attendance(code, guest.userId),
        openRows: (await privateRows.attendance(code)).filter((row) => row.left_at === null),
        settings: (await privateRows.room(code)).settings,
      };
    } finally {
      await own.end();
    }
  });

  afterAll(async () => {
    await server?.close();
    if (admin) {
      await admin.query(`alter database ${name} allow_connections true`).catch(() => {});
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });

  it('a join while PostgreSQL refuses connections answers 503 UNAVAILABLE', () => {
    expect({ status: during.join?.status, code: during.join?.body.code }).toEqual({ status: 503, code: 'UNAVAILABLE' });
  });

  it('a command whose PostgreSQL effect fails answers 503 and is not applied', () => {
    expect({ status: during.configure?.status, code: during.configure?.body.code }).toEqual({ status: 503, code: 'UNAVAILABLE' });
    expect(after.settings).toMatchObject({ enable_transcription: false });
    expect(after.details.body.settings.enable_transcription).toBe(false);
  });

  it('a malformed room code is 404 without touching the database, even while it is down', () => {
    expect({ status: during.malformed?.status, code: during.malformed?.body.code }).toEqual({ status: 404, code: 'ROOM_NOT_FOUND' });
  });

  it('once PostgreSQL is back the same join succeeds, exactly once', () => {
    expect(after.join.status).toBe(200);
    expect(after.join.body.status).toBe('joined');
    expect(after.guestRows).toHaveLength(1);
    expect(after.guestRows[0]!.left_at).toBeNull();
    expect(userIds(after.openRows)).toEqual([host.userId, guest.userId].sort());
    expect(userIds(after.participants.body.participants)).toEqual([host.userId, guest.userId].sort());
    expect(after.details.body.participant_count).toBe(2);
  });
});
