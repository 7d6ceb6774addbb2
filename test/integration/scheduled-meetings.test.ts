import { Client } from 'pg';
import { testDatabaseUrl } from '../support/env';
import { createRoom, guestUser, hostUser, liveStateModes, meetings } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket, nextEvent, request } from '../support/sockets';

/**
 * docs/api.md "Scheduled meetings": a schedule on create and PATCH config, checked and stored;
 * room views and `room:updated` carry it; `GET /upcoming` lists what the caller hosts, soonest first.
 */
const hour = 3_600_000;
const inHours = (hours: number) => new Date(Date.now() + hours * hour).toISOString();

describe.each(liveStateModes())('scheduled meetings (%s)', (_mode, env) => {
  let server: TestServer;
  let db: Client;

  beforeAll(async () => {
    server = await startServer(env);
    db = new Client({ connectionString: testDatabaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    closeSockets();
    await db?.end();
    await server?.close();
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  const storedSchedule = async (code: string) =>
    (await db.query('select scheduled_start_at, scheduled_end_at from rooms where room_code = $1', [code])).rows[0] as {
      scheduled_start_at: Date | null;
      scheduled_end_at: Date | null;
    };

  it('a room created with a schedule is pending and shows it; PostgreSQL keeps it', async () => {
    const host = await hostUser(server, 'Hana');
    const start = inHours(24);
    const end = inHours(25);
    const room = await createRoom(server, host, { name: 'Planning', scheduled_start_at: start, scheduled_end_at: end });
    expect(room).toMatchObject({ status: 'pending', scheduled_start_at: start, scheduled_end_at: end });
    expect((await meetings(server)(host, 'GET', `/${room.room_code}`)).body).toMatchObject({ scheduled_start_at: start, scheduled_end_at: end });
    expect(await storedSchedule(room.room_code)).toEqual({ scheduled_start_at: new Date(start), scheduled_end_at: new Date(end) });
  });

  it.each([
    ['a start in the past', { scheduled_start_at: inHours(-1) }, 'scheduled_start_at', 'must be in the future'],
    ['a start beyond the horizon', { scheduled_start_at: inHours(367 * 24) }, 'scheduled_start_at', 'must be at most 366 days ahead'],
    ['an end before the start', { scheduled_start_at: inHours(2), scheduled_end_at: inHours(1) }, 'scheduled_end_at', 'must be after scheduled_start_at'],
    ['an end without a start', { scheduled_end_at: inHours(1) }, 'scheduled_end_at', 'needs a scheduled_start_at'],
    ['a date that is not ISO 8601', { scheduled_start_at: 'tomorrow at nine' }, 'scheduled_start_at', 'must be an ISO 8601 date-time'],
  ])('refuses %s with VALIDATION_FAILED naming the field, and creates nothing', async (_name, schedule, path, message) => {
    const host = await hostUser(server, 'Hal');
    const response = await meetings(server)(host, 'POST', '', { name: 'Bad plan', ...schedule });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path, message: expect.stringContaining(message) }] });
    expect((await db.query('select count(*)::int as n from rooms where host_id = $1', [host.userId])).rows[0].n).toBe(0);
  });

  it('the host reschedules a pending room: the answer and the room view show it, PostgreSQL keeps it', async () => {
    const api = meetings(server);
    const host = await hostUser(server, 'Hugo');
    const room = await createRoom(server, host, { name: 'Moved', scheduled_start_at: inHours(2) });
    const ann = await guestUser(server, 'Ann');
    expect((await api(ann, 'POST', `/${room.room_code}/join`, {})).body.status).toBe('waiting');

    const start = inHours(3);
    const end = inHours(4);
    const patched = await api(host, 'PATCH', `/${room.room_code}/config`, { scheduled_start_at: start, scheduled_end_at: end });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ settings: room.settings, scheduled_start_at: start, scheduled_end_at: end });
    expect((await api(ann, 'GET', `/${room.room_code}`)).body).toMatchObject({ scheduled_start_at: start, scheduled_end_at: end });
    expect(await storedSchedule(room.room_code)).toEqual({ scheduled_start_at: new Date(start), scheduled_end_at: new Date(end) });

    // A guest may not, and a bad change is refused with nothing changed.
    expect((await api(ann, 'PATCH', `/${room.room_code}/config`, { scheduled_start_at: inHours(5) })).body.code).toBe('NOT_HOST');
    const bad = await api(host, 'PATCH', `/${room.room_code}/config`, { scheduled_end_at: inHours(1) });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED', detail: 'scheduled_end_at must be after scheduled_start_at' });
    expect(await storedSchedule(room.room_code)).toEqual({ scheduled_start_at: new Date(start), scheduled_end_at: new Date(end) });

    // Clearing the start clears the plan.
    const cleared = await api(host, 'PATCH', `/${room.room_code}/config`, { scheduled_start_at: null });
    expect(cleared.body).toMatchObject({ scheduled_start_at: null, scheduled_end_at: null });
  });

  it('a meeting that started early keeps its start; its planned end may still move, and the room hears of it', async () => {
    const api = meetings(server);
    const host = await hostUser(server, 'Hedy');
    const room = await createRoom(server, host, { name: 'Early', scheduled_start_at: inHours(1), scheduled_end_at: inHours(2) });
    expect((await api(host, 'POST', `/${room.room_code}/join`, {})).body.status).toBe('joined');
    const socket = await connectSocket(server, host.token);
    expect((await request(socket, 'room:attach', { room_code: room.room_code })).ok).toBe(true);
    const moved = await api(host, 'PATCH', `/${room.room_code}/config`, { scheduled_start_at: inHours(3) });
    expect(moved.status).toBe(400);
    expect(moved.body.detail).toBe('scheduled_start_at cannot change once the meeting has started');
    const end = inHours(4);
    const updated = nextEvent(socket, 'room:updated');
    expect((await api(host, 'PATCH', `/${room.room_code}/config`, { scheduled_end_at: end })).body.scheduled_end_at).toBe(end);
    expect(await updated).toMatchObject({ room_code: room.room_code, status: 'active', scheduled_start_at: room.scheduled_start_at, scheduled_end_at: end });
  });

  it('GET /upcoming: the scheduled rooms the caller hosts that have not ended, soonest first, a page at a time', async () => {
    const api = meetings(server);
    const host = await hostUser(server, 'Ines');
    const later = await createRoom(server, host, { name: 'Later', scheduled_start_at: inHours(48) });
    const soon = await createRoom(server, host, { name: 'Soon', scheduled_start_at: inHours(1), scheduled_end_at: inHours(2) });
    const middle = await createRoom(server, host, { name: 'Middle', scheduled_start_at: inHours(24) });
    const ended = await createRoom(server, host, { name: 'Called off', scheduled_start_at: inHours(5) });
    expect((await api(host, 'POST', `/${ended.room_code}/end`)).status).toBe(200);
    await createRoom(server, host, { name: 'Unscheduled' });

    const first = await api(host, 'GET', '/upcoming?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([
      {
        room_code: soon.room_code,
        name: 'Soon',
        role: 'host',
        status: 'pending',
        scheduled_start_at: soon.scheduled_start_at,
        scheduled_end_at: soon.scheduled_end_at,
        join_url: soon.join_url,
      },
      expect.objectContaining({ room_code: middle.room_code, scheduled_end_at: null }),
    ]);
    const second = await api(host, 'GET', `/upcoming?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.items.map((item: { room_code: string }) => item.room_code)).toEqual([later.room_code]);
    expect(second.body.next_cursor).toBeNull();

    // Someone else sees none of them; a cursor this server did not issue is refused.
    const other = await hostUser(server, 'Jon');
    expect((await api(other, 'GET', '/upcoming')).body).toEqual({ items: [], next_cursor: null });
    expect((await api(host, 'GET', '/upcoming?cursor=bogus')).body.code).toBe('VALIDATION_FAILED');
  });
});

describe.each(liveStateModes())('ending at the scheduled end (%s)', (_mode, env) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ ...env, SCHEDULED_END_WARNING_S: '2' });
  });
  afterAll(async () => {
    closeSockets();
    await server?.close();
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  it('with end_at_scheduled_end the room warns everyone, then ends at its planned end', async () => {
    const api = meetings(server);
    const host = await hostUser(server, 'Hana');
    const start = Date.now() + 1_000;
    const end = start + 4_000;
    const room = await createRoom(server, host, {
      name: 'Timeboxed',
      settings: { end_at_scheduled_end: true },
      scheduled_start_at: new Date(start).toISOString(),
      scheduled_end_at: new Date(end).toISOString(),
    });
    expect(room.settings).toMatchObject({ end_at_scheduled_end: true });
    expect((await api(host, 'POST', `/${room.room_code}/join`, {})).body.status).toBe('joined');
    const socket = await connectSocket(server, host.token);
    const attached = await request(socket, 'room:attach', { room_code: room.room_code });
    // The attach reply says when the room ends, for whoever attaches after the warning went out.
    expect(attached.data.ends_at).toBe(new Date(end).toISOString());
    const ending = nextEvent(socket, 'room:ending', () => true, 10_000);
    const ended = nextEvent(socket, 'room:ended', () => true, 15_000);

    const warning = await ending;
    expect(warning).toEqual({ room_code: room.room_code, ends_at: new Date(end).toISOString() });
    const { ended_at } = await ended;
    // Ended by the deadline's expire: at the planned end, or the moment after, never before.
    expect(Date.parse(ended_at)).toBeGreaterThanOrEqual(end);
    expect((await api(host, 'GET', `/${room.room_code}`)).body.status).toBe('ended');
  });
});
