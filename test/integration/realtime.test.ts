import jwt from 'jsonwebtoken';
import { createRoom, guestUser, hostUser, liveStateModes, meetings, type Actor } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket, nextEvent, quietFor, record, request, type ClientSocket } from '../support/sockets';

/**
 * The Socket.IO contract of docs/realtime.md with real socket.io-client sockets against a server on
 * port 0, real PostgreSQL, and both live-state modes.
 */

const secret = 'realtime-test-secret-0123456789abcdef0123';

describe.each(liveStateModes())('Socket.IO contract (%s)', (_mode, env) => {
  let server: TestServer;
  let api: ReturnType<typeof meetings>;

  beforeAll(async () => {
    server = await startServer({ ...env, JWT_SECRET: secret });
    api = meetings(server);
  });
  afterEach(() => closeSockets());
  afterAll(async () => {
    await server?.close();
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  /** A room whose host has joined over REST and attached a socket. */
  async function startedRoom(settings: object = {}) {
    const host = await hostUser(server, 'Hana Host');
    const room = await createRoom(server, host, { name: 'Realtime', settings });
    expect((await api(host, 'POST', `/${room.room_code}/join`)).status).toBe(200);
    const hostSocket = await connectSocket(server, host.token);
    expect((await request(hostSocket, 'room:attach', { room_code: room.room_code })).ok).toBe(true);
    return { host, hostSocket, code: room.room_code };
  }

  /** A refusal with its status and code. */
  function expectRefusal(response: { status: number; body: { code?: string } }, status: number, code: string) {
    expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
  }

  /** A participant who joined over REST and attached a socket. */
  async function attendee(code: string, name: string): Promise<{ user: Actor; socket: ClientSocket }> {
    const user = await guestUser(server, name);
    expect((await api(user, 'POST', `/${code}/join`)).body.status).toBe('joined');
    const socket = await connectSocket(server, user.token);
    expect((await request(socket, 'room:attach', { room_code: code })).ok).toBe(true);
    return { user, socket };
  }

  describe('handshake', () => {
    it('refuses a missing, garbage, forged or expired token with UNAUTHENTICATED', async () => {
      const user = await guestUser(server);
      const forged = jwt.sign({ guest: true }, 'another-secret-0123456789abcdef0123456', { algorithm: 'HS256', subject: user.userId, expiresIn: 60 });
      const expired = jwt.sign({ guest: true }, secret, { algorithm: 'HS256', subject: user.userId, expiresIn: -1 });
      for (const token of [undefined, '', 'garbage', forged, expired]) {
        await expect(connectSocket(server, token)).rejects.toMatchObject({ message: 'UNAUTHENTICATED', data: { code: 'UNAUTHENTICATED' } });
      }
      await expect(connectSocket(server, expired)).rejects.toMatchObject({ data: { message: expect.stringMatching(/expired/) } });
    });

    it('refuses a token over 16 kB with a connect_error that says so, over websocket and long-polling', async () => {
      for (const transports of [['websocket'], ['polling']] as const) {
        await expect(connectSocket(server, 'a'.repeat(17_000), { transports: [...transports] })).rejects.toMatchObject({
          message: 'UNAUTHENTICATED',
          data: { code: 'UNAUTHENTICATED', message: 'The token is over 16 kB' },
        });
      }
    });

    it('accepts a valid token, over websocket and over long-polling', async () => {
      const user = await guestUser(server);
      const ws = await connectSocket(server, user.token);
      expect(ws.connected).toBe(true);
      const polling = await connectSocket(server, user.token, { transports: ['polling'] });
      expect(polling.connected).toBe(true);
      const metrics = (await server.request('GET', '/metrics')).body as string;
      const open = Number(/^socketio_connected_sockets\{.*\} (\d+)$/m.exec(metrics)?.[1]);
      expect(open).toBeGreaterThanOrEqual(2);
    });
  });

  describe('the lobby, end to end', () => {
    it('waiting → entered (host only) → admitted → participant:joined; reject; cancel', async () => {
      const { host, hostSocket, code } = await startedRoom();
      const olga = await attendee(code, 'Olga');
      expect((await api(host, 'PATCH', `/${code}/config`, { lock_room: true })).status).toBe(200);
      const olgaLobbyNotices = record(olga.socket, 'lobby:entered');

      // A guest with a socket open joins the locked room over REST.
      const guest = await guestUser(server, 'Gus');
      const guestSocket = await connectSocket(server, guest.token);
      const waiting = nextEvent(guestSocket, 'lobby:waiting');
      const entered = nextEvent(hostSocket, 'lobby:entered');
      expect((await api(guest, 'POST', `/${code}/join`)).body.status).toBe('waiting');
      expect(await waiting).toEqual({ room_code: code, reason: 'locked' });
      expect(await entered).toEqual({ room_code: code, user_id: guest.userId, display_name: 'Gus' });

      // Waiting users may attach: they get their own events only, and no lobby list.
      const guestView = await request(guestSocket, 'room:attach', { room_code: code });
      expect(guestView).toEqual({
        ok: true,
        data: {
          status: 'waiting',
          participants: expect.any(Array),
          active_speaker: null,
          settings: { lock_room: true, enable_transcription: false, max_participants: 100 },
          ends_at: null,
        },
      });
      const guestJoins = record(guestSocket, 'participant:joined');

      // The host admits over REST: the guest hears it, the room (now including the guest) hears who joined.
      const admitted = nextEvent(guestSocket, 'lobby:admitted');
      const joinedAtOlga = nextEvent(olga.socket, 'participant:joined');
      const joinedAtHost = nextEvent(hostSocket, 'participant:joined');
      expect((await api(host, 'POST', `/${code}/admit/${guest.userId}`)).status).toBe(200);
      expect(await admitted).toEqual({ room_code: code });
      const joined = await joinedAtOlga;
      expect(joined).toEqual({
        room_code: code,
        participant: {
          user_id: guest.userId,
          display_name: 'Gus',
          role: 'guest',
          status: 'connected',
          language: null,
          hardware_ready: false,
          joined_at: expect.any(String),
          media: null,
        },
      });
      expect(await joinedAtHost).toEqual(joined);
      // Admitting again changes nothing and announces nothing.
      expect((await api(host, 'POST', `/${code}/admit/${guest.userId}`)).status).toBe(200);

      // Rejected.
      const rita = await guestUser(server, 'Rita');
      const ritaSocket = await connectSocket(server, rita.token);
      expect((await api(rita, 'POST', `/${code}/join`)).body.status).toBe('waiting');
      const rejected = nextEvent(ritaSocket, 'lobby:rejected');
      expect((await api(host, 'POST', `/${code}/reject/${rita.userId}`)).status).toBe(200);
      expect(await rejected).toEqual({ room_code: code });

      // Cancelled over the socket: the host hears the lobby shrink.
      const carl = await guestUser(server, 'Carl');
      const carlSocket = await connectSocket(server, carl.token);
      const carlEntered = nextEvent(hostSocket, 'lobby:entered', (p) => p.user_id === carl.userId);
      expect((await api(carl, 'POST', `/${code}/join`)).body.status).toBe('waiting');
      await carlEntered;
      const left = nextEvent(hostSocket, 'lobby:left');
      expect(await request(carlSocket, 'lobby:cancel', { room_code: code })).toEqual({ ok: true, data: { status: 'cancelled' } });
      expect(await left).toEqual({ room_code: code, user_id: carl.userId });
      const lobby = await api(host, 'GET', `/${code}/participants`);
      expect(lobby.body.lobby).toEqual([]);

      await quietFor(100);
      expect(olgaLobbyNotices).toEqual([]); // lobby notices reach the host only
      expect(guestJoins).toHaveLength(1); // exactly once, although admitted twice
    });

    it('the host hears the lobby on every tab, even before attaching or starting', async () => {
      const host = await hostUser(server);
      const room = await createRoom(server, host);
      const [tab1, tab2] = [await connectSocket(server, host.token), await connectSocket(server, host.token)];
      const guest = await guestUser(server, 'Early');
      const seen = [nextEvent(tab1, 'lobby:entered'), nextEvent(tab2, 'lobby:entered')];
      const guestSocket = await connectSocket(server, guest.token);
      const waiting = nextEvent(guestSocket, 'lobby:waiting');
      await api(guest, 'POST', `/${room.room_code}/join`);
      expect(await waiting).toEqual({ room_code: room.room_code, reason: 'host_not_started' });
      for (const event of await Promise.all(seen)) expect(event.user_id).toBe(guest.userId);
    });
  });

  describe('moderation', () => {
    it('reject-all sends lobby:rejected to every waiting user, and they may ask again', async () => {
      const { host, code } = await startedRoom({ lock_room: true });
      const waiting = await Promise.all(
        ['Ada', 'Bea', 'Cy'].map(async (name) => {
          const who = await guestUser(server, name);
          const socket = await connectSocket(server, who.token);
          expect((await api(who, 'POST', `/${code}/join`)).body.status).toBe('waiting');
          return { who, socket };
        }),
      );
      const rejected = waiting.map(({ socket }) => nextEvent(socket, 'lobby:rejected'));
      const reply = await api(host, 'POST', `/${code}/reject-all`);
      expect(reply.status).toBe(200);
      expect(new Set(reply.body.rejected)).toEqual(new Set(waiting.map(({ who }) => who.userId)));
      for (const notice of await Promise.all(rejected)) expect(notice).toEqual({ room_code: code });
      expect((await api(host, 'GET', `/${code}/participants`)).body.lobby).toEqual([]);
      expect((await api(host, 'POST', `/${code}/reject-all`)).body).toEqual({ rejected: [] });
      expect((await api(waiting[0]!.who, 'POST', `/${code}/join`)).body.status).toBe('waiting');
    });

    it('a co-host hears the lobby, runs it with the host away, and is a guest again when revoked', async () => {
      const { host, code } = await startedRoom();
      const cora = await attendee(code, 'Cora');
      expect((await api(host, 'PATCH', `/${code}/config`, { lock_room: true })).status).toBe(200);
      const made = await api(host, 'POST', `/${code}/co-hosts/${cora.user.userId}`);
      expect(made.status).toBe(200);
      expect(made.body.participant).toMatchObject({ user_id: cora.user.userId, role: 'co_host' });
      expectRefusal(await api(cora.user, 'POST', `/${code}/co-hosts/${cora.user.userId}`), 403, 'NOT_HOST');

      const guest = await guestUser(server, 'Knock');
      const entered = nextEvent(cora.socket, 'lobby:entered');
      expect((await api(guest, 'POST', `/${code}/join`)).body.status).toBe('waiting');
      expect(await entered).toEqual({ room_code: code, user_id: guest.userId, display_name: 'Knock' });
      expect((await api(cora.user, 'GET', `/${code}/participants`)).body.lobby.map((w: { user_id: string }) => w.user_id)).toEqual([guest.userId]);
      const coraView = await request(cora.socket, 'room:attach', { room_code: code });
      expect(coraView.data.lobby.map((w: { user_id: string }) => w.user_id)).toEqual([guest.userId]);

      expect((await api(host, 'POST', `/${code}/leave`)).status).toBe(200);
      expect((await api(cora.user, 'POST', `/${code}/admit/${guest.userId}`)).body.status).toBe('admitted');
      expect((await api(cora.user, 'POST', `/${code}/mute/${guest.userId}`)).body).toEqual({ requested: [guest.userId] });
      expectRefusal(await api(cora.user, 'POST', `/${code}/end`), 403, 'NOT_HOST');
      expectRefusal(await api(cora.user, 'PATCH', `/${code}/config`, { lock_room: false }), 403, 'NOT_HOST');
      expect((await api(cora.user, 'POST', `/${code}/remove/${guest.userId}`)).body).toEqual({ status: 'removed' });

      expect((await api(host, 'POST', `/${code}/join`)).status).toBe(200);
      const revoked = await api(host, 'DELETE', `/${code}/co-hosts/${cora.user.userId}`);
      expect(revoked.body.participant).toMatchObject({ role: 'guest' });
      expectRefusal(await api(cora.user, 'POST', `/${code}/reject-all`), 403, 'NOT_HOST');
      expectRefusal(await api(host, 'POST', `/${code}/co-hosts/${guest.userId}`), 409, 'NOT_A_PARTICIPANT');
    });

    it('participant:mute_requested reaches the participants asked, and nobody else', async () => {
      const { host, hostSocket, code } = await startedRoom();
      const olga = await attendee(code, 'Olga');
      const pete = await attendee(code, 'Pete');
      const hostHears = record(hostSocket, 'participant:mute_requested');
      const peteHears = record(pete.socket, 'participant:mute_requested');

      const asked = nextEvent(olga.socket, 'participant:mute_requested');
      expect((await api(host, 'POST', `/${code}/mute/${olga.user.userId}`)).body).toEqual({ requested: [olga.user.userId] });
      expect(await asked).toEqual({ room_code: code, by: host.userId, at: expect.stringMatching(/Z$/) });
      await quietFor(100);
      expect(peteHears).toEqual([]);

      const everyone = [nextEvent(olga.socket, 'participant:mute_requested'), nextEvent(pete.socket, 'participant:mute_requested')];
      const all = await api(host, 'POST', `/${code}/mute-all`);
      expect(new Set(all.body.requested)).toEqual(new Set([olga.user.userId, pete.user.userId]));
      await Promise.all(everyone);
      await quietFor(100);
      expect(hostHears).toEqual([]);
      expect(peteHears).toHaveLength(1);
    });
  });

  describe('room:attach', () => {
    it('gives a late joiner the whole room: participants, speaker, settings; the host also the lobby', async () => {
      const { host, hostSocket, code } = await startedRoom({ max_participants: 7 });
      const olga = await attendee(code, 'Olga');
      await api(host, 'PATCH', `/${code}/config`, { lock_room: true });
      const waiter = await guestUser(server, 'Wanda');
      await api(waiter, 'POST', `/${code}/join`, { language: 'de', hardware_ready: true });

      const late = await request(olga.socket, 'room:attach', { room_code: code });
      expect(late.ok).toBe(true);
      expect(late.data).toEqual({
        status: 'joined',
        participants: [
          expect.objectContaining({ user_id: host.userId, role: 'host', status: 'connected' }),
          expect.objectContaining({ user_id: olga.user.userId, status: 'connected' }),
        ],
        active_speaker: null,
        settings: { lock_room: true, enable_transcription: false, max_participants: 7 },
        ends_at: null,
        // A participant's calls use these (none configured here: host candidates only).
        ice_servers: [],
        mesh_max_participants: 4,
      });
      const hostView = await request(hostSocket, 'room:attach', { room_code: code });
      expect(hostView.data.lobby).toEqual([
        { user_id: waiter.userId, display_name: 'Wanda', language: 'de', hardware_ready: true, waiting_since: expect.any(String), invited: false },
      ]);
    });

    it('tells a waiting user their own status and nothing about the room’s people, as GET /participants does', async () => {
      const { host, hostSocket, code } = await startedRoom({ speaker_min_ms: 100 });
      const alice = await attendee(code, 'Alice Secret');
      // Alice takes the floor, so the room has an active speaker to keep quiet about.
      const spoke = nextEvent(hostSocket, 'speaker:changed', (p) => p.user_id === alice.user.userId);
      const levels = setInterval(() => alice.socket.emit('audio:level', { room_code: code, level: -10 }), 50);
      await spoke.finally(() => clearInterval(levels));
      expect((await api(host, 'PATCH', `/${code}/config`, { lock_room: true })).status).toBe(200);
      const guest = await guestUser(server, 'Lurker');
      expect((await api(guest, 'POST', `/${code}/join`)).body.status).toBe('waiting');
      expectRefusal(await api(guest, 'GET', `/${code}/participants`), 403, 'NOT_A_PARTICIPANT');

      const socket = await connectSocket(server, guest.token);
      const view = await request(socket, 'room:attach', { room_code: code });
      expect(view).toEqual({
        ok: true,
        data: {
          status: 'waiting',
          participants: [],
          active_speaker: null,
          settings: { lock_room: true, enable_transcription: false, max_participants: 100, speaker_min_ms: 100 },
          ends_at: null,
        },
      });

      // Nor does the room's channel reach a waiting user's socket: someone else coming in is not heard.
      const heard = record(socket, 'participant:joined');
      const late = await guestUser(server, 'Late Larry');
      expect((await api(late, 'POST', `/${code}/join`)).body.status).toBe('waiting');
      const joinedAtHost = nextEvent(hostSocket, 'participant:joined');
      expect((await api(host, 'POST', `/${code}/admit/${late.userId}`)).status).toBe(200);
      expect((await joinedAtHost).participant.user_id).toBe(late.userId);
      await quietFor(100);
      expect(heard).toEqual([]);

      // The host's view is unchanged: the room's people, the speaker and the lobby.
      const hostView = await request(hostSocket, 'room:attach', { room_code: code });
      expect(hostView.data).toMatchObject({ status: 'joined', active_speaker: alice.user.userId, lobby: [expect.objectContaining({ user_id: guest.userId })] });
      expect(hostView.data.participants.map((p: { display_name: string }) => p.display_name)).toEqual(['Hana Host', 'Alice Secret', 'Late Larry']);
    });

    it('marks the participant connected, announced to the room once', async () => {
      const { host, hostSocket, code } = await startedRoom();
      const guest = await guestUser(server, 'Gia');
      await api(guest, 'POST', `/${code}/join`);
      expect((await api(host, 'GET', `/${code}/participants`)).body.participants[1].status).toBe('disconnected');
      const updates = record(hostSocket, 'participant:updated');
      const socket = await connectSocket(server, guest.token);
      await request(socket, 'room:attach', { room_code: code });
      await request(socket, 'room:attach', { room_code: code }); // again: nothing new
      await quietFor(100);
      expect(updates).toEqual([{ room_code: code, participant: expect.objectContaining({ user_id: guest.userId, status: 'connected' }) }]);
      expect((await api(host, 'GET', `/${code}/participants`)).body.participants[1].status).toBe('connected');
    });

    it('room:detach stops the room events but keeps the user in the meeting', async () => {
      const { host, hostSocket, code } = await startedRoom();
      const olga = await attendee(code, 'Olga');
      const lost = nextEvent(hostSocket, 'participant:updated', (p) => p.participant.user_id === olga.user.userId);
      expect(await request(olga.socket, 'room:detach', { room_code: code })).toEqual({ ok: true, data: { status: 'detached' } });
      expect((await lost).participant.status).toBe('disconnected');
      const heard = record(olga.socket, 'participant:updated');
      await request(hostSocket, 'hardware:status', { room_code: code, hardware_ready: true });
      await quietFor(100);
      expect(heard).toEqual([]);
      expect((await api(host, 'GET', `/${code}/participants`)).body.participants).toHaveLength(2);
      // Attaching again brings the room back.
      expect((await request(olga.socket, 'room:attach', { room_code: code })).data.status).toBe('joined');
      const again = nextEvent(olga.socket, 'participant:updated');
      await request(hostSocket, 'hardware:status', { room_code: code, hardware_ready: false });
      expect((await again).participant.user_id).toBe(host.userId);
    });

    it('refuses strangers, unknown rooms and malformed payloads with stable codes', async () => {
      const { code } = await startedRoom();
      const stranger = await guestUser(server);
      const socket = await connectSocket(server, stranger.token);
      expect(await request(socket, 'room:attach', { room_code: code })).toMatchObject({ ok: false, error: { code: 'NOT_A_PARTICIPANT' } });
      expect(await request(socket, 'room:attach', { room_code: 'AAAAAAAAAAAA' })).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
      expect(await request(socket, 'room:attach', { room_code: 'short' })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED', errors: [{ path: 'room_code', message: expect.any(String) }] },
      });
      expect(await request(socket, 'room:attach', { room_code: code, extra: 1 })).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      expect(await request(socket, 'room:attach')).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      expect(await request(socket, 'room:attach', 'a string')).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      expect(await request(socket, 'no:such:event', { room_code: code })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/Unknown event/) },
      });
      // A server event name sent by a client is just an unknown event: nobody else hears it.
      expect(await request(socket, 'room:ended', { room_code: code })).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      expect(socket.connected).toBe(true);
    });
  });

  describe('room:updated', () => {
    it('a settings change reaches the room once; a PATCH that changes nothing is silent', async () => {
      const { host, hostSocket, code } = await startedRoom();
      const olga = await attendee(code, 'Olga');
      const updates = record(olga.socket, 'room:updated');
      const hostUpdates = record(hostSocket, 'room:updated');
      expect((await api(host, 'PATCH', `/${code}/config`, { enable_transcription: true, max_participants: 9 })).status).toBe(200);
      expect((await api(host, 'PATCH', `/${code}/config`, { enable_transcription: true })).status).toBe(200);
      await quietFor(150);
      const expected = [
        {
          room_code: code,
          settings: { lock_room: false, enable_transcription: true, max_participants: 9 },
          status: 'active',
          scheduled_start_at: null,
          scheduled_end_at: null,
        },
      ];
      expect(updates).toEqual(expected);
      expect(hostUpdates).toEqual(expected);
    });
  });

  describe('hardware:status and leaving', () => {
    it('hardware:status updates the participant and tells the room', async () => {
      const { host, hostSocket, code } = await startedRoom();
      const olga = await attendee(code, 'Olga');
      const update = nextEvent(hostSocket, 'participant:updated', (p) => p.participant.user_id === olga.user.userId);
      expect(await request(olga.socket, 'hardware:status', { room_code: code, hardware_ready: true })).toEqual({ ok: true, data: { hardware_ready: true } });
      expect((await update).participant.hardware_ready).toBe(true);
      const list = await api(host, 'GET', `/${code}/participants`);
      expect(list.body.participants.find((p: { user_id: string }) => p.user_id === olga.user.userId).hardware_ready).toBe(true);
      expect(await request(olga.socket, 'hardware:status', { room_code: code, hardware_ready: 'yes' })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED' },
      });
    });

    it('leave over REST and removal: the room hears participant:left; the removed user hears participant:removed and no more', async () => {
      const { host, hostSocket, code } = await startedRoom();
      const olga = await attendee(code, 'Olga');
      const remy = await attendee(code, 'Remy');

      const left = nextEvent(hostSocket, 'participant:left');
      await api(olga.user, 'POST', `/${code}/leave`);
      expect(await left).toEqual({ room_code: code, user_id: olga.user.userId, reason: 'left' });

      const removedNotice = nextEvent(remy.socket, 'participant:removed');
      const removedLeft = nextEvent(hostSocket, 'participant:left');
      expect((await api(host, 'POST', `/${code}/remove/${remy.user.userId}`)).status).toBe(200);
      expect(await removedNotice).toEqual({ room_code: code });
      expect(await removedLeft).toEqual({ room_code: code, user_id: remy.user.userId, reason: 'removed' });

      // Out of the room's channel: later room events do not reach the removed user's socket.
      const afterwards = record(remy.socket, 'participant:updated');
      await request(hostSocket, 'hardware:status', { room_code: code, hardware_ready: true });
      await quietFor(100);
      expect(afterwards).toEqual([]);
    });
  });

  describe('ending', () => {
    it('every attached socket and the lobby get room:ended once, then nothing more of the room', async () => {
      const { host, hostSocket, code } = await startedRoom();
      const olga = await attendee(code, 'Olga');
      await api(host, 'PATCH', `/${code}/config`, { lock_room: true });
      const waiter = await guestUser(server, 'Wes');
      const waiterSocket = await connectSocket(server, waiter.token);
      await api(waiter, 'POST', `/${code}/join`);

      const ended = [hostSocket, olga.socket, waiterSocket].map((socket) => record(socket, 'room:ended'));
      const later = [hostSocket, olga.socket].map((socket) => record(socket, 'participant:updated'));
      const response = await api(host, 'POST', `/${code}/end`);
      expect(response.status).toBe(200);
      await quietFor(150);
      for (const events of ended) expect(events).toEqual([{ room_code: code, ended_at: response.body.ended_at }]);

      expect(await server.app.io.in(`room:${code}`).fetchSockets()).toHaveLength(0);
      expect(await request(olga.socket, 'hardware:status', { room_code: code, hardware_ready: true })).toMatchObject({
        ok: false,
        error: { code: 'ROOM_NOT_FOUND' },
      });
      expect(await request(olga.socket, 'room:attach', { room_code: code })).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
      await quietFor(100);
      for (const events of later) expect(events).toEqual([]);
    });
  });

  describe('abuse', () => {
    it('cuts off a socket that floods, and keeps serving everyone else', async () => {
      const { code } = await startedRoom();
      const olga = await attendee(code, 'Olga');
      const flooder = await attendee(code, 'Flo');
      const cut = new Promise<string>((resolve) => flooder.socket.on('disconnect', resolve));
      for (let i = 0; i < 1000; i++) flooder.socket.emit('audio:level', { room_code: code, level: -90 });
      expect(await cut).toBe('io server disconnect');
      expect(await request(olga.socket, 'hardware:status', { room_code: code, hardware_ready: true })).toMatchObject({ ok: true });
    });

    it('lets a burst within the limit through (200 events at once)', async () => {
      const { code } = await startedRoom();
      const busy = await attendee(code, 'Bea');
      for (let i = 0; i < 190; i++) busy.socket.emit('audio:level', { room_code: code, level: -90 });
      expect(await request(busy.socket, 'hardware:status', { room_code: code, hardware_ready: true })).toMatchObject({ ok: true });
      expect(busy.socket.connected).toBe(true);
    });

    it('drops malformed audio levels and survives junk of every shape', async () => {
      const { hostSocket, code } = await startedRoom();
      const junk: unknown[] = [
        undefined,
        null,
        42,
        'x',
        [],
        {},
        { room_code: code },
        { room_code: code, level: 5 },
        { room_code: code, level: '−20' },
        { room_code: code, level: Number.NaN },
        { room_code: 1, level: -20 },
      ];
      for (const payload of junk) hostSocket.emit('audio:level', payload as never);
      (hostSocket as unknown as { emit(...args: unknown[]): void }).emit('audio:level', { room_code: code, level: -20 }, 'extra', () => {});
      expect(await request(hostSocket, 'hardware:status', { room_code: code, hardware_ready: false })).toMatchObject({ ok: true });
      expect(hostSocket.connected).toBe(true);
    });
  });
});
