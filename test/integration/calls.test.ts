import { createHmac } from 'node:crypto';
import { createRoom, guestUser, hostUser, liveStateModes, meetings, type Actor } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket, nextEvent, quietFor, record, request, type ClientSocket } from '../support/sockets';

/**
 * Call signaling through the room (docs/calls.md): real sockets against a server with a TURN
 * server configured, in both live-state modes.
 */
const turnSecret = 'calls-test-turn-secret-0123456789';
const offer = { type: 'offer' as const, sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
const candidate = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };

describe.each(liveStateModes())('call signaling (%s)', (_mode, env) => {
  let server: TestServer;
  let api: ReturnType<typeof meetings>;

  beforeAll(async () => {
    server = await startServer({
      ...env,
      ICE_SERVERS: 'stun:stun.example.test:3478',
      TURN_URLS: 'turn:127.0.0.1:3478',
      TURN_SECRET: turnSecret,
      TURN_TTL_S: '600',
    });
    api = meetings(server);
  });
  afterEach(() => closeSockets());
  afterAll(async () => {
    await server?.close();
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  interface Member {
    user: Actor;
    socket: ClientSocket;
    attach: any;
  }

  /** A started room with its host and one guest, both attached. */
  async function call(): Promise<{ code: string; host: Member; guest: Member }> {
    const hostActor = await hostUser(server, 'Hana');
    const { room_code: code } = await createRoom(server, hostActor, { name: 'Call' });
    expect((await api(hostActor, 'POST', `/${code}/join`)).status).toBe(200);
    const host = await attached(code, hostActor);
    const guestActor = await guestUser(server, 'Gus');
    expect((await api(guestActor, 'POST', `/${code}/join`)).body.status).toBe('joined');
    return { code, host, guest: await attached(code, guestActor) };
  }

  async function attached(code: string, user: Actor): Promise<Member> {
    const socket = await connectSocket(server, user.token);
    const attach = await request(socket, 'room:attach', { room_code: code });
    expect(attach.ok).toBe(true);
    return { user, socket, attach: attach.data };
  }

  it('relays an offer and candidates to the other participant, from the sender as the server knows them', async () => {
    const { code, host, guest } = await call();
    const heard = nextEvent(guest.socket, 'rtc:signal');
    expect(await request(host.socket, 'rtc:signal', { room_code: code, to: guest.user.userId, description: offer })).toEqual({
      ok: true,
      data: { delivered: true },
    });
    expect(await heard).toEqual({ room_code: code, from: host.user.userId, description: offer });

    const candidates = record(host.socket, 'rtc:signal');
    expect((await request(guest.socket, 'rtc:signal', { room_code: code, to: host.user.userId, candidate })).ok).toBe(true);
    expect((await request(guest.socket, 'rtc:signal', { room_code: code, to: host.user.userId, candidate: null })).ok).toBe(true);
    await quietFor(200);
    expect(candidates).toEqual([
      { room_code: code, from: guest.user.userId, candidate },
      { room_code: code, from: guest.user.userId, candidate: null },
    ]);
    // A client cannot say who it is: `from` is not part of what it sends.
    const spoofed = await request(guest.socket, 'rtc:signal', { room_code: code, to: host.user.userId, candidate, from: 'someone-else' });
    expect(spoofed.error.code).toBe('VALIDATION_FAILED');
  });

  it('refuses signals from and to a user waiting in the lobby, who hears nothing', async () => {
    const { code, host } = await call();
    expect((await api(host.user, 'PATCH', `/${code}/config`, { lock_room: true })).status).toBe(200);
    const waiter = await guestUser(server, 'Wanda');
    expect((await api(waiter, 'POST', `/${code}/join`)).body.status).toBe('waiting');
    const waiting = await attached(code, waiter);
    expect(waiting.attach.ice_servers).toBeUndefined();
    const heard = record(waiting.socket, 'rtc:signal');
    const toWaiter = await request(host.socket, 'rtc:signal', { room_code: code, to: waiter.userId, description: offer });
    const fromWaiter = await request(waiting.socket, 'rtc:signal', { room_code: code, to: host.user.userId, description: offer });
    expect([toWaiter.error.code, fromWaiter.error.code]).toEqual(['NOT_A_PARTICIPANT', 'NOT_A_PARTICIPANT']);
    expect((await request(waiting.socket, 'rtc:ice_servers', { room_code: code })).error.code).toBe('NOT_A_PARTICIPANT');

    // Admitted, the same socket takes part.
    const admitted = nextEvent(waiting.socket, 'lobby:admitted');
    expect((await api(host.user, 'POST', `/${code}/admit/${waiter.userId}`)).status).toBe(200);
    await admitted;
    expect(await request(host.socket, 'rtc:signal', { room_code: code, to: waiter.userId, description: offer })).toEqual({
      ok: true,
      data: { delivered: true },
    });
    await quietFor(200);
    expect(heard).toEqual([{ room_code: code, from: host.user.userId, description: offer }]);
  });

  it('cuts a removed participant off at once, both ways, and everyone once the room ends', async () => {
    const { code, host, guest } = await call();
    const heard = record(guest.socket, 'rtc:signal');
    expect((await api(host.user, 'POST', `/${code}/remove/${guest.user.userId}`)).status).toBe(200);
    const toRemoved = await request(host.socket, 'rtc:signal', { room_code: code, to: guest.user.userId, description: offer });
    const fromRemoved = await request(guest.socket, 'rtc:signal', { room_code: code, to: host.user.userId, description: offer });
    expect([toRemoved.error.code, fromRemoved.error.code]).toEqual(['NOT_A_PARTICIPANT', 'NOT_A_PARTICIPANT']);

    const other = await guestUser(server, 'Olga');
    expect((await api(other, 'POST', `/${code}/join`)).status).toBe(200);
    const olga = await attached(code, other);
    expect((await api(host.user, 'POST', `/${code}/end`)).status).toBe(200);
    const afterEnd = await request(olga.socket, 'rtc:signal', { room_code: code, to: host.user.userId, description: offer });
    expect(afterEnd.error.code).toBe('ROOM_NOT_FOUND');
    await quietFor(200);
    expect(heard).toEqual([]);
  });

  it('cuts off a participant who left, and answers delivered: false for one with no socket attached', async () => {
    const { code, host, guest } = await call();
    expect((await request(guest.socket, 'room:detach', { room_code: code })).ok).toBe(true);
    expect(await request(host.socket, 'rtc:signal', { room_code: code, to: guest.user.userId, candidate })).toEqual({ ok: true, data: { delivered: false } });
    expect((await api(guest.user, 'POST', `/${code}/leave`)).status).toBe(200);
    expect((await request(host.socket, 'rtc:signal', { room_code: code, to: guest.user.userId, candidate })).error.code).toBe('NOT_A_PARTICIPANT');
  });

  it("carries a user's media on their newest socket: the older one is told, hears nothing more and may not send", async () => {
    const { code, host, guest } = await call();
    const superseded = nextEvent(guest.socket, 'rtc:superseded');
    const second = await attached(code, guest.user);
    expect(await superseded).toEqual({ room_code: code });
    const onFirst = record(guest.socket, 'rtc:signal');
    const onSecond = nextEvent(second.socket, 'rtc:signal');
    expect((await request(host.socket, 'rtc:signal', { room_code: code, to: guest.user.userId, description: offer })).ok).toBe(true);
    expect(await onSecond).toMatchObject({ from: host.user.userId });
    expect((await request(guest.socket, 'rtc:signal', { room_code: code, to: host.user.userId, candidate })).error.code).toBe('SUPERSEDED');
    expect((await request(second.socket, 'rtc:signal', { room_code: code, to: host.user.userId, candidate })).ok).toBe(true);
    await quietFor(200);
    expect(onFirst).toEqual([]);
  });

  it('tells the room when a participant turns their microphone or camera on or off, and only a change', async () => {
    const { code, host, guest } = await call();
    expect(guest.attach.participants.map((p: { media: unknown }) => p.media)).toEqual([null, null]);
    const updates = record(host.socket, 'participant:updated');
    expect(await request(guest.socket, 'media:state', { room_code: code, audio: false, video: true })).toEqual({
      ok: true,
      data: { audio: false, video: true },
    });
    expect((await request(guest.socket, 'media:state', { room_code: code, audio: false, video: true })).ok).toBe(true);
    await quietFor(200);
    expect(updates).toEqual([{ room_code: code, participant: expect.objectContaining({ user_id: guest.user.userId, media: { audio: false, video: true } }) }]);
    // A late attach and the REST list see it too.
    expect((await api(host.user, 'GET', `/${code}/participants`)).body.participants).toContainEqual(
      expect.objectContaining({ user_id: guest.user.userId, media: { audio: false, video: true } }),
    );

    expect((await api(host.user, 'PATCH', `/${code}/config`, { lock_room: true })).status).toBe(200);
    const waiter = await guestUser(server, 'Wanda');
    expect((await api(waiter, 'POST', `/${code}/join`)).body.status).toBe('waiting');
    const waiting = await attached(code, waiter);
    expect((await request(waiting.socket, 'media:state', { room_code: code, audio: true, video: true })).error.code).toBe('NOT_A_PARTICIPANT');
    expect((await request(guest.socket, 'media:state', { room_code: code, audio: 'yes', video: true })).error.code).toBe('VALIDATION_FAILED');
  });

  it('gives participants, and only them, ICE servers with TURN credentials coturn accepts', async () => {
    const { code, guest } = await call();
    const check = (servers: { urls: unknown; username?: string; credential?: string }[]) => {
      expect(servers[0]).toEqual({ urls: 'stun:stun.example.test:3478' });
      const turn = servers[1]!;
      expect(turn.urls).toEqual(['turn:127.0.0.1:3478']);
      const [expiry, userId] = turn.username!.split(':');
      expect(userId).toBe(guest.user.userId);
      expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(590);
      expect(Number(expiry) - Date.now() / 1000).toBeLessThanOrEqual(600);
      expect(turn.credential).toBe(createHmac('sha1', turnSecret).update(turn.username!).digest('base64'));
    };
    check(guest.attach.ice_servers);
    const fresh = await request(guest.socket, 'rtc:ice_servers', { room_code: code });
    check(fresh.data.ice_servers);
  });

  it('refuses malformed signals, signals to oneself, and floods', async () => {
    const { code, host, guest } = await call();
    const to = guest.user.userId;
    const bad = [
      { room_code: code, to },
      { room_code: code, to, description: offer, candidate },
      { room_code: code, to: 'not-a-uuid', candidate },
      { room_code: code, to, description: { type: 'pranswer', sdp: 'x' } },
      { room_code: code, to, description: { type: 'offer', sdp: 'x'.repeat(32_001) } },
      { room_code: code, to, candidate: { candidate: 'x', sdpMLineIndex: -1 } },
      { room_code: code, to, candidate: { candidate: 'x'.repeat(1025) } },
      { room_code: code, to, candidate: 'a string' },
      { room_code: 'short', to, candidate },
      { room_code: code, to, candidate: { ...candidate, extra: 1 } },
      { room_code: code, to, candidate: JSON.parse('{"candidate": "x", "__proto__": {"polluted": 1}}') },
      { room_code: code, to: [to], candidate },
      [code, to],
      'a string',
      42,
      null,
    ];
    for (const payload of bad) expect([payload, (await request(host.socket, 'rtc:signal', payload)).error?.code]).toEqual([payload, 'VALIDATION_FAILED']);
    expect((await request(host.socket, 'rtc:signal', { room_code: code, to: host.user.userId, candidate })).error.code).toBe('VALIDATION_FAILED');
    // The server's own event names are not the client's to send.
    expect((await request(host.socket, 'rtc:superseded', { room_code: code })).error.code).toBe('VALIDATION_FAILED');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // A burst past the limit is refused, not cut off, and the socket goes on.
    const answers = await Promise.all(Array.from({ length: 150 }, () => request(host.socket, 'rtc:signal', { room_code: code, to, candidate })));
    const limited = answers.filter((a) => a.error?.code === 'RATE_LIMITED').length;
    expect(answers.filter((a) => a.ok).length).toBeGreaterThanOrEqual(100 - bad.length - 1);
    expect(limited).toBeGreaterThan(20);
    expect(host.socket.connected).toBe(true);
  });
});
