import { Redis } from 'ioredis';
import { testRedisUrl } from '../support/env';
import { createRoom, guestUser, hostUser, meetings, uniqueRedisPrefix } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket, nextEvent, quietFor, request } from '../support/sockets';

/**
 * In cluster mode with the pub/sub adapter, every broadcast to a room's channel is a Redis PUBLISH
 * that every node receives and decodes. While no socket is attached to a room its channel is empty
 * everywhere, so what goes only there is not published (docs/realtime.md "Events"). Seen with
 * MONITOR: the adapter publishes a room's broadcasts on a channel named after the room.
 */
const prefix = uniqueRedisPrefix();

describe('the events of a room nobody has attached to (cluster mode, pub/sub adapter)', () => {
  let server: TestServer;
  let redis: Redis;
  let monitor: Redis;
  const commands: string[][] = [];

  beforeAll(async () => {
    server = await startServer({ REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix });
    redis = new Redis(testRedisUrl);
    monitor = await redis.monitor();
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args));
  });
  afterEach(() => closeSockets());
  afterAll(async () => {
    monitor?.disconnect();
    await redis?.quit();
    await server?.close();
    await deleteRedisPrefix(prefix);
  });

  /** The PUBLISHes of broadcasts to the room's channel so far. */
  const roomPublishes = (code: string) =>
    commands.filter(([command, channel]) => command?.toLowerCase() === 'publish' && channel === `${prefix}socket.io#/#room:${code}#`);

  it('are not published until a socket attaches; the socket gets the room in its answer, then every event', async () => {
    const api = meetings(server);
    const host = await hostUser(server, 'Quinn Host');
    const { room_code: code } = await createRoom(server, host, { name: 'Quiet' });
    expect((await api(host, 'POST', `/${code}/join`)).body.status).toBe('joined');
    const early = await guestUser(server, 'Early Eve');
    expect((await api(early, 'POST', `/${code}/join`)).body.status).toBe('joined');
    // The room started and a guest joined: two events for the channel, nobody in it.
    await quietFor(300);
    expect(roomPublishes(code)).toEqual([]);

    const socket = await connectSocket(server, host.token);
    const attached = await request(socket, 'room:attach', { room_code: code });
    expect(attached.ok).toBe(true);
    expect(attached.data.participants.map((p: { user_id: string }) => p.user_id)).toEqual([host.userId, early.userId]);

    const heard = nextEvent(socket, 'participant:joined');
    const late = await guestUser(server, 'Late Lou');
    expect((await api(late, 'POST', `/${code}/join`)).body.status).toBe('joined');
    expect((await heard).participant.user_id).toBe(late.userId);
    expect(roomPublishes(code).length).toBeGreaterThan(0);
  });
});
