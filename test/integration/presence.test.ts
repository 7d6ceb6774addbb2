import { Client } from 'pg';
import { attendanceRows } from '../support/db';
import { testDatabaseUrl } from '../support/env';
import { createRoom, guestUser, hostUser, liveStateModes, meetings, type Actor } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket, nextEvent, quietFor, record, request, type ClientSocket } from '../support/sockets';

/**
 * Presence (docs/realtime.md "Presence"): a participant whose last socket goes is `disconnected`; back
 * within RECONNECT_GRACE_S they are `connected` again; otherwise they leave with reason
 * `disconnected` and their attendance closes. The grace here is 1 s.
 */

const graceMs = 1000;

describe.each(liveStateModes())('presence (%s)', (_mode, env) => {
  let server: TestServer;
  let api: ReturnType<typeof meetings>;
  let db: Client;

  beforeAll(async () => {
    server = await startServer({ ...env, RECONNECT_GRACE_S: String(graceMs / 1000) });
    api = meetings(server);
    db = new Client({ connectionString: testDatabaseUrl });
    await db.connect();
  });
  afterEach(() => closeSockets());
  afterAll(async () => {
    await server?.close();
    await db?.end();
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  async function attach(user: Actor, code: string): Promise<ClientSocket> {
    const socket = await connectSocket(server, user.token);
    expect((await request(socket, 'room:attach', { room_code: code })).ok).toBe(true);
    return socket;
  }

  /** A started room with the host attached, and a guest who joined over REST. */
  async function meeting() {
    const host = await hostUser(server);
    const { room_code: code } = await createRoom(server, host);
    await api(host, 'POST', `/${code}/join`);
    const hostSocket = await attach(host, code);
    const guest = await guestUser(server, 'Gale');
    expect((await api(guest, 'POST', `/${code}/join`)).body.status).toBe('joined');
    return { host, hostSocket, guest, code };
  }

  const statusOf = async (viewer: Actor, code: string, userId: string) =>
    (await api(viewer, 'GET', `/${code}/participants`)).body.participants.find((p: { user_id: string }) => p.user_id === userId)?.status;

  it('disconnect → disconnected; back inside the grace → connected, and nobody leaves', async () => {
    const { host, hostSocket, guest, code } = await meeting();
    const guestSocket = await attach(guest, code);
    const left = record(hostSocket, 'participant:left');

    const lost = nextEvent(hostSocket, 'participant:updated', (p) => p.participant.user_id === guest.userId);
    guestSocket.close();
    expect((await lost).participant.status).toBe('disconnected');
    expect(await statusOf(host, code, guest.userId)).toBe('disconnected');

    await quietFor(graceMs / 2);
    const back = nextEvent(hostSocket, 'participant:updated', (p) => p.participant.user_id === guest.userId);
    await attach(guest, code);
    expect((await back).participant.status).toBe('connected');

    await quietFor(graceMs);
    expect(left).toEqual([]);
    expect(await statusOf(host, code, guest.userId)).toBe('connected');
    expect((await attendanceRows(db, code, guest.userId))[0]!.left_at).toBeNull();
  });

  it('past the grace the participant leaves with reason disconnected and the attendance closes', async () => {
    const { hostSocket, guest, code } = await meeting();
    const guestSocket = await attach(guest, code);
    const left = nextEvent(hostSocket, 'participant:left', undefined, graceMs * 5);
    const closedAt = Date.now();
    guestSocket.close();
    expect(await left).toEqual({ room_code: code, user_id: guest.userId, reason: 'disconnected' });
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(graceMs - 50);
    const [row] = await attendanceRows(db, code, guest.userId);
    expect(row).toMatchObject({ left_reason: 'disconnected', left_at: expect.any(Date) });
  });

  it('a participant who joined over REST and never attached leaves once the grace has run from joining', async () => {
    const { hostSocket, guest, code } = await meeting();
    const left = await nextEvent(hostSocket, 'participant:left', undefined, graceMs * 5);
    expect(left).toEqual({ room_code: code, user_id: guest.userId, reason: 'disconnected' });
  });

  it('a second tab keeps the user connected; the host keeps host rights on the tab that stays', async () => {
    const host = await hostUser(server);
    const { room_code: code } = await createRoom(server, host);
    await api(host, 'POST', `/${code}/join`);
    const tab1 = await attach(host, code);
    const tab2 = await attach(host, code);
    const observer = await guestUser(server, 'Obi');
    await api(observer, 'POST', `/${code}/join`);
    const observerSocket = await attach(observer, code);
    const updates = record(observerSocket, 'participant:updated');

    tab1.close();
    await quietFor(graceMs * 1.5);
    expect(updates).toEqual([]);
    expect(await statusOf(observer, code, host.userId)).toBe('connected');

    // Still the host: lobby notices reach the remaining tab, and host-only commands work.
    expect((await api(host, 'PATCH', `/${code}/config`, { lock_room: true })).status).toBe(200);
    const entered = nextEvent(tab2, 'lobby:entered');
    const waiter = await guestUser(server, 'Wil');
    await api(waiter, 'POST', `/${code}/join`);
    expect((await entered).user_id).toBe(waiter.userId);
    expect((await api(host, 'POST', `/${code}/admit/${waiter.userId}`)).status).toBe(200);
  });

  it('a waiting user whose socket goes leaves the lobby after the grace; the host hears lobby:left', async () => {
    const { host, hostSocket, code } = await meeting();
    await api(host, 'PATCH', `/${code}/config`, { lock_room: true });
    const waiter = await guestUser(server, 'Wyn');
    expect((await api(waiter, 'POST', `/${code}/join`)).body.status).toBe('waiting');
    const waiterSocket = await attach(waiter, code);
    const left = nextEvent(hostSocket, 'lobby:left', (p) => p.user_id === waiter.userId, graceMs * 5);
    waiterSocket.close();
    expect(await left).toEqual({ room_code: code, user_id: waiter.userId });
    expect((await api(host, 'GET', `/${code}/participants`)).body.lobby).toEqual([]);
  });
});
