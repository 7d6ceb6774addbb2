import { Client } from 'pg';
import { attendanceRows } from '../support/db';
import { testDatabaseUrl } from '../support/env';
import { createRoom, guestUser, hostUser, liveStateModes, meetings, type Actor } from '../support/meetings';
import { deleteRedisPrefix, redisKeys } from '../support/redis';
import { startServer, type ApiResponse, type TestServer } from '../support/server';
import { closeSockets, connectSocket, quietFor, record } from '../support/sockets';

/**
 * Real concurrent HTTP requests against one room (the cap holds under any concurrency, and a
 * room's commands run strictly one after another: docs/api.md "How a room runs"): the cap is exact, join/admit/leave are
 * idempotent, and a join racing the end of a room never leaves an open attendance behind.
 */

describe.each(liveStateModes())('meeting races (%s)', (_mode, env) => {
  let server: TestServer;
  let api: ReturnType<typeof meetings>;
  let db: Client;

  beforeAll(async () => {
    db = new Client({ connectionString: testDatabaseUrl });
    await db.connect();
    server = await startServer(env);
    api = meetings(server);
  });

  afterAll(async () => {
    closeSockets();
    await server?.close();
    await db?.end();
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  const attendance = (roomCode: string) => attendanceRows(db, roomCode);

  const guests = (count: number) => Promise.all(Array.from({ length: count }, (_, i) => guestUser(server, `Guest ${i + 1}`)));
  const statuses = (responses: ApiResponse[]) => responses.map((r) => r.status);
  const no5xx = (responses: ApiResponse[]) => expect(responses.filter((r) => r.status >= 500).map((r) => r.body)).toEqual([]);

  async function startedRoom(host: Actor, settings: object) {
    const room = await createRoom(server, host, { name: 'Race', settings });
    const joined = await api(host, 'POST', `/${room.room_code}/join`, {});
    expect(joined.status).toBe(200);
    expect(joined.body.status).toBe('joined');
    return room.room_code;
  }

  it('60 concurrent joins into a room capped at 20: exactly 20 get in, 40 are ROOM_FULL (3 rounds)', async () => {
    const host = await hostUser(server);
    for (let round = 1; round <= 3; round++) {
      const code = await startedRoom(host, { max_participants: 20 });
      const crowd = await guests(60);

      const responses = await Promise.all(crowd.map((guest) => api(guest, 'POST', `/${code}/join`, {})));

      no5xx(responses);
      const joined = responses.filter((r) => r.status === 200);
      const full = responses.filter((r) => r.status === 409);
      expect(joined).toHaveLength(20);
      expect(joined.every((r) => r.body.status === 'joined')).toBe(true);
      expect(full).toHaveLength(40);
      expect(full.every((r) => r.body.code === 'ROOM_FULL')).toBe(true);

      const open = (await attendance(code)).filter((row) => row.left_at === null);
      expect(open).toHaveLength(21);
      expect(new Set(open.map((row) => row.user_id)).size).toBe(21);
      expect(open.filter((row) => row.role === 'host').map((row) => row.user_id)).toEqual([host.userId]);
      // The ones PostgreSQL seated are exactly the ones told 200.
      const admittedIds = crowd.filter((_, i) => responses[i]!.status === 200).map((g) => g.userId);
      expect(
        open
          .filter((row) => row.role === 'guest')
          .map((row) => row.user_id)
          .sort(),
      ).toEqual(admittedIds.sort());

      const listed = await api(host, 'GET', `/${code}/participants`);
      expect(listed.status).toBe(200);
      expect(listed.body.participants).toHaveLength(21);
      expect(listed.body.lobby).toEqual([]);

      expect((await api(host, 'POST', `/${code}/end`)).status).toBe(200);
    }
  });

  it('10 concurrent admits of one waiting user: all 200 admitted, one attendance row, one lobby:admitted', async () => {
    const host = await hostUser(server);
    const code = await startedRoom(host, { lock_room: true });
    const [guest] = await guests(1);
    const admittedEvents = record(await connectSocket(server, guest!.token), 'lobby:admitted');
    const waiting = await api(guest!, 'POST', `/${code}/join`, {});
    expect(waiting.status).toBe(200);
    expect(waiting.body.status).toBe('waiting');

    const responses = await Promise.all(Array.from({ length: 10 }, () => api(host, 'POST', `/${code}/admit/${guest!.userId}`)));
    await quietFor(200);
    expect(admittedEvents).toEqual([{ room_code: code }]);

    expect(statuses(responses)).toEqual(Array(10).fill(200));
    expect(responses.every((r) => r.body.status === 'admitted' && r.body.participant.user_id === guest!.userId)).toBe(true);
    expect(new Set(responses.map((r) => r.body.participant.joined_at)).size).toBe(1);
    const rows = (await attendance(code)).filter((row) => row.user_id === guest!.userId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.left_at).toBeNull();
    expect(rows[0]!.joined_at.toISOString()).toBe(responses[0]!.body.participant.joined_at);

    await api(host, 'POST', `/${code}/end`);
  });

  it('joins racing the end of the room: joined or 404, never 5xx, nothing left open', async () => {
    const host = await hostUser(server);
    const code = await startedRoom(host, {});
    const crowd = await guests(20);

    const joins = crowd.map((guest) => api(guest, 'POST', `/${code}/join`, {}));
    const end = await api(host, 'POST', `/${code}/end`);
    const responses = await Promise.all(joins);

    expect(end.status).toBe(200);
    expect(end.body.status).toBe('ended');
    no5xx(responses);
    for (const response of responses) {
      if (response.status === 200) expect(response.body.status).toBe('joined');
      else {
        expect(response.status).toBe(404);
        expect(response.body.code).toBe('ROOM_NOT_FOUND');
      }
    }

    const details = await api(host, 'GET', `/${code}`);
    expect(details.body.status).toBe('ended');
    expect(details.body.ended_at).toBe(end.body.ended_at);
    const rows = await attendance(code);
    expect(rows.filter((row) => row.left_at === null)).toEqual([]);
    // Whoever got in was seated before the end and closed by it.
    const admittedIds = crowd.filter((_, i) => responses[i]!.status === 200).map((g) => g.userId);
    for (const userId of [host.userId, ...admittedIds]) {
      const own = rows.filter((row) => row.user_id === userId);
      expect(own).toHaveLength(1);
      expect(own[0]!.left_reason).toBe('ended');
    }
    expect(rows).toHaveLength(1 + admittedIds.length);
    if (env.REDIS_PREFIX) expect(await redisKeys(`${env.REDIS_PREFIX}room:{${code}}:*`)).toEqual([]);

    const late = await Promise.all(crowd.slice(0, 5).map((guest) => api(guest, 'POST', `/${code}/join`, {})));
    expect(statuses(late)).toEqual(Array(5).fill(404));
    expect(late.every((r) => r.body.code === 'ROOM_NOT_FOUND')).toBe(true);
  });

  it('two tabs of one user: concurrent joins make one attendance; leaving twice is harmless', async () => {
    const host = await hostUser(server);
    const code = await startedRoom(host, {});
    const [user] = await guests(1);
    const tab1 = user!;
    const tab2 = { ...user! };

    const joins = await Promise.all([api(tab1, 'POST', `/${code}/join`, {}), api(tab2, 'POST', `/${code}/join`, {})]);
    expect(statuses(joins)).toEqual([200, 200]);
    expect(joins.map((r) => r.body.status)).toEqual(['joined', 'joined']);
    expect(joins[0]!.body.participant.joined_at).toBe(joins[1]!.body.participant.joined_at);
    expect(await attendance(code).then((rows) => rows.filter((row) => row.user_id === user!.userId))).toHaveLength(1);

    const leave1 = await api(tab1, 'POST', `/${code}/leave`);
    expect(leave1.status).toBe(200);
    expect(leave1.body).toEqual({ status: 'left' });
    const leave2 = await api(tab2, 'POST', `/${code}/leave`);
    expect(leave2.status).toBe(200);
    expect(leave2.body).toEqual({ status: 'left' });

    const listed = await api(host, 'GET', `/${code}/participants`);
    expect(listed.body.participants.map((p: { user_id: string }) => p.user_id)).toEqual([host.userId]);
    const rows = (await attendance(code)).filter((row) => row.user_id === user!.userId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.left_at).not.toBeNull();
    expect(rows[0]!.left_reason).toBe('left');

    const again = await Promise.all([api(tab1, 'POST', `/${code}/leave`), api(tab2, 'POST', `/${code}/leave`)]);
    expect(statuses(again)).toEqual([200, 200]);
    expect(again.map((r) => r.body)).toEqual([{ status: 'left' }, { status: 'left' }]);
    expect((await attendance(code)).filter((row) => row.user_id === user!.userId)).toHaveLength(1);

    await api(host, 'POST', `/${code}/end`);
  });

  it('admit-all racing single admits in a room capped at 3: exactly 3 get in, nobody twice', async () => {
    const host = await hostUser(server);
    const code = await startedRoom(host, { lock_room: true, max_participants: 3 });
    const crowd = await guests(6);
    for (const guest of crowd) {
      const waiting = await api(guest, 'POST', `/${code}/join`, {});
      expect(waiting.body.status).toBe('waiting');
    }

    const [all, ...singles] = await Promise.all([
      api(host, 'POST', `/${code}/admit-all`),
      ...crowd.map((guest) => api(host, 'POST', `/${code}/admit/${guest.userId}`)),
    ]);

    no5xx([all!, ...singles]);
    expect(all!.status).toBe(200);
    for (const single of singles) {
      if (single.status === 200) expect(single.body.status).toBe('admitted');
      else {
        expect(single.status).toBe(409);
        expect(single.body.code).toBe('ROOM_FULL');
      }
    }

    const rows = await attendance(code);
    const guestRows = rows.filter((row) => row.user_id !== host.userId);
    expect(guestRows).toHaveLength(3);
    expect(guestRows.every((row) => row.left_at === null)).toBe(true);
    expect(new Set(guestRows.map((row) => row.user_id)).size).toBe(3);
    // Everyone the answers call admitted is among them.
    const admitted = new Set([...all!.body.admitted, ...singles.filter((r) => r.status === 200).map((r) => r.body.participant.user_id)]);
    expect([...admitted].sort()).toEqual(guestRows.map((row) => row.user_id).sort());

    const listed = await api(host, 'GET', `/${code}/participants`);
    expect(listed.body.participants).toHaveLength(4);
    expect(listed.body.lobby).toHaveLength(3);

    await api(host, 'POST', `/${code}/end`);
  });
});
