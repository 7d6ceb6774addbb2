import { createRoom, guestUser, hostUser, liveStateModes, meetings } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket, nextEvent, request } from '../support/sockets';

/**
 * UNUSED_ROOM_TIMEOUT_S (docs/configuration.md): a room nobody started ends by itself, counted
 * from its creation, in both live-state modes; whoever waits in it is told, and it takes nobody
 * after. A room that was started is not touched by it.
 */
describe.each(liveStateModes())('rooms nobody started (%s)', (_mode, env) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ ...env, UNUSED_ROOM_TIMEOUT_S: '2' });
  });
  afterAll(async () => {
    closeSockets();
    await server?.close();
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  it('end by themselves; the guest waiting for the host is told, and the room takes nobody after', async () => {
    const api = meetings(server);
    const host = await hostUser(server, 'Hana');
    const room = await createRoom(server, host);
    const ann = await guestUser(server, 'Ann');
    expect((await api(ann, 'POST', `/${room.room_code}/join`, {})).body.status).toBe('waiting');
    const socket = await connectSocket(server, ann.token);
    expect((await request(socket, 'room:attach', { room_code: room.room_code })).ok).toBe(true);
    const ended = nextEvent(socket, 'room:ended');

    expect(await ended).toMatchObject({ room_code: room.room_code });
    const view = (await api(host, 'GET', `/${room.room_code}`)).body;
    expect(view.status).toBe('ended');
    expect(Date.parse(view.ended_at) - Date.parse(view.created_at)).toBeGreaterThanOrEqual(2_000);
    expect((await api(host, 'POST', `/${room.room_code}/join`, {})).status).toBe(404);
  });

  it('a room the host started is not ended by it', async () => {
    const api = meetings(server);
    const host = await hostUser(server, 'Hal');
    const room = await createRoom(server, host);
    expect((await api(host, 'POST', `/${room.room_code}/join`, {})).body.status).toBe('joined');
    const socket = await connectSocket(server, host.token);
    expect((await request(socket, 'room:attach', { room_code: room.room_code })).ok).toBe(true);
    // Past the unused-room deadline by a second: still running.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await api(host, 'GET', `/${room.room_code}`)).body.status).toBe('active');
  });
});

describe('a scheduled room nobody started', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ UNUSED_ROOM_TIMEOUT_S: '2' });
  });
  afterAll(async () => {
    closeSockets();
    await server?.close();
  });

  it('ends UNUSED_ROOM_TIMEOUT_S after its scheduled start, not after its creation', async () => {
    const api = meetings(server);
    const host = await hostUser(server, 'Hana');
    const start = Date.now() + 3_000;
    const room = await createRoom(server, host, { name: 'Later today', scheduled_start_at: new Date(start).toISOString() });
    const ann = await guestUser(server, 'Ann');
    expect((await api(ann, 'POST', `/${room.room_code}/join`, {})).body.status).toBe('waiting');
    const socket = await connectSocket(server, ann.token);
    expect((await request(socket, 'room:attach', { room_code: room.room_code })).ok).toBe(true);
    const ended = nextEvent(socket, 'room:ended', () => true, 15_000);

    // Past the deadline a room created unscheduled would have had: still waiting for its host.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await api(host, 'GET', `/${room.room_code}`)).body.status).toBe('pending');
    const { ended_at } = await ended;
    expect(Date.parse(ended_at)).toBeGreaterThanOrEqual(start + 2_000);
  });
});
