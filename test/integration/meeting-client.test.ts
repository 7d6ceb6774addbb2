import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeetingClient, type ConnectionState, type Reattached } from '../../src/client/meeting-client';
import { MeetingError, type MeetingErrorCode } from '../../src/client/meeting-error';
import type { ServerToClientEvents } from '../../src/contract/events';
import type { SessionView } from '../../src/contract/schemas';
import { userChannel } from '../../src/realtime/channels';
import { liveStateModes } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { startServer, uniqueEmail, type TestServer } from '../support/server';

/**
 * The client SDK (src/client/) against a real server: the REST methods through fetch, the
 * realtime ones through socket.io-client, every failure a MeetingError with the contract's code.
 * Nothing of the product is mocked; each test makes its own users and rooms.
 */

type ServerEvent = keyof ServerToClientEvents;
type PayloadOf<E extends ServerEvent> = Parameters<ServerToClientEvents[E]>[0];

const password = 'correct horse battery';

/** Every client a test made; each is disconnected after the test. */
const clients = new Set<MeetingClient>();
function clientOf(baseUrl: string, options: ConstructorParameters<typeof MeetingClient>[0] = {}): MeetingClient {
  const client = new MeetingClient({ baseUrl, ...options });
  clients.add(client);
  return client;
}
function disconnectClients(): void {
  for (const client of clients) client.disconnect();
  clients.clear();
}

/** The MeetingError a promise rejects with (fails the test if it resolves or rejects with something else). */
async function failure(promise: Promise<unknown>): Promise<MeetingError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MeetingError);
    return error as MeetingError;
  }
  throw new Error(`expected a MeetingError, got ${JSON.stringify(outcome)}`);
}

/** Asserts a promise rejects with a MeetingError of this code and status; returns it. */
async function expectError(promise: Promise<unknown>, code: MeetingErrorCode, status: number): Promise<MeetingError> {
  const error = await failure(promise);
  expect({ code: error.code, status: error.status }).toEqual({ code, status });
  expect(error.name).toBe('MeetingError');
  expect(error.message).toEqual(expect.any(String));
  return error;
}

/** The next `event` the client hears (matching `filter`), or a rejection after `timeoutMs`. */
function nextEvent<E extends ServerEvent>(
  client: MeetingClient,
  event: E,
  filter: (payload: PayloadOf<E>) => boolean = () => true,
  timeoutMs = 5000,
): Promise<PayloadOf<E>> {
  return new Promise((resolve, reject) => {
    const stop = client.on(event, ((payload: PayloadOf<E>) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      stop();
      resolve(payload);
    }) as ServerToClientEvents[E]);
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

/** Everything the client hears of one event from now on. */
function record<E extends ServerEvent>(client: MeetingClient, event: E): PayloadOf<E>[] {
  const seen: PayloadOf<E>[] = [];
  client.on(event, ((payload: PayloadOf<E>) => seen.push(payload)) as ServerToClientEvents[E]);
  return seen;
}

/** Every connection state the client goes through from now on. */
function recordStates(client: MeetingClient): ConnectionState[] {
  const states: ConnectionState[] = [];
  client.onConnectionState((state) => states.push(state));
  return states;
}

function untilState(client: MeetingClient, state: ConnectionState, timeoutMs = 5000): Promise<void> {
  if (client.connectionState === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const stop = client.onConnectionState((now) => {
      if (now !== state) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`not ${state} within ${timeoutMs} ms (is ${client.connectionState})`));
    }, timeoutMs);
  });
}

function nextReattach(client: MeetingClient, timeoutMs = 5000): Promise<Reattached> {
  return new Promise((resolve, reject) => {
    const stop = client.onReattach((outcome) => {
      clearTimeout(timer);
      stop();
      resolve(outcome);
    });
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no re-attach within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

const quietFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A loopback URL where nothing listens: a port that was free a moment ago. */
async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** A registered user's client (may host). */
async function hostClient(server: TestServer, name = 'Hana Host'): Promise<MeetingClient> {
  const client = clientOf(server.url);
  await client.register({ email: uniqueEmail('sdk-host'), password, display_name: name });
  return client;
}

/** A guest's client. */
async function guestClient(server: TestServer, name = 'Gus Guest'): Promise<MeetingClient> {
  const client = clientOf(server.url);
  await client.guest({ display_name: name });
  return client;
}

const idOf = (client: MeetingClient) => client.session!.user.id;

/** A started room: the host joined, connected and attached. */
async function startedRoom(server: TestServer, settings: { lock_room?: boolean } = {}) {
  const host = await hostClient(server);
  const { room_code: code } = await host.meetings.create({ name: 'Realtime SDK', settings });
  expect((await host.meetings.join(code)).status).toBe('joined');
  await host.attach(code);
  return { host, code };
}

/** A guest who joined the open room and attached. */
async function attendee(server: TestServer, code: string, name: string): Promise<MeetingClient> {
  const guest = await guestClient(server, name);
  expect((await guest.meetings.join(code)).status).toBe('joined');
  expect((await guest.attach(code)).status).toBe('joined');
  return guest;
}

/** Closes the user's sockets from the server side: reason "io server disconnect", never recovered. */
const cutOff = (server: TestServer, client: MeetingClient) => server.app.io.in(userChannel(idOf(client))).disconnectSockets(true);

afterEach(() => disconnectClients());

describe('MeetingClient against an in-process server', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    disconnectClients();
    await server?.close();
  });

  describe('accounts', () => {
    it('register sets the session; me() is that user; a second registration is EMAIL_TAKEN 409', async () => {
      const client = clientOf(`${server.url}/`); // a trailing slash is dropped
      expect(client.session).toBeNull();
      const email = uniqueEmail('Sdk-Reg');
      const session = await client.register({ email, password, display_name: 'Regina' });
      expect(session).toEqual({
        access_token: expect.any(String),
        token_type: 'bearer',
        expires_in: expect.any(Number),
        user: { id: expect.any(String), email: email.toLowerCase(), display_name: 'Regina', is_guest: false },
      });
      expect(client.session).toEqual(session);
      expect(await client.me()).toEqual(session.user);

      const again = clientOf(server.url);
      await expectError(again.register({ email, password, display_name: 'Other' }), 'EMAIL_TAKEN', 409);
      expect(again.session).toBeNull();
    });

    it('login with the right password sets the session; a wrong one is INVALID_CREDENTIALS 401 and keeps the old session', async () => {
      const first = clientOf(server.url);
      const email = uniqueEmail('sdk-login');
      const registered = await first.register({ email, password, display_name: 'Lou' });

      const client = clientOf(server.url);
      const session = await client.login({ email, password });
      expect(session.user).toEqual(registered.user);
      expect(session.access_token).toEqual(expect.any(String));
      expect(client.session).toEqual(session);
      expect((await client.me()).id).toBe(registered.user.id);

      await expectError(client.login({ email, password: 'not the password' }), 'INVALID_CREDENTIALS', 401);
      expect(client.session).toEqual(session);
      expect((await client.me()).id).toBe(registered.user.id);
    });

    it('guest sets a guest session; signOut forgets it and me() is then UNAUTHENTICATED 401', async () => {
      const client = clientOf(server.url);
      const session = await client.guest({ display_name: '  Visitor  ' });
      expect(session.user).toEqual({ id: expect.any(String), email: null, display_name: 'Visitor', is_guest: true });
      expect(client.session).toEqual(session);
      expect(await client.me()).toEqual(session.user);

      client.signOut();
      expect(client.session).toBeNull();
      expect(client.connectionState).toBe('disconnected');
      await expectError(client.me(), 'UNAUTHENTICATED', 401);
    });

    it('a session passed to the constructor is used; a bad token is UNAUTHENTICATED 401', async () => {
      const guest = await guestClient(server, 'Kept');
      const restored = clientOf(server.url, { session: guest.session });
      expect((await restored.me()).id).toBe(idOf(guest));

      const forged = clientOf(server.url, { session: { ...guest.session!, access_token: 'not-a-token' } });
      await expectError(forged.me(), 'UNAUTHENTICATED', 401);
    });

    it('invalid bodies are VALIDATION_FAILED 400 with the fields in errors[].path', async () => {
      const client = clientOf(server.url);
      const error = await expectError(client.register({ email: 'not-an-email', password: 'short', display_name: 'Val' }), 'VALIDATION_FAILED', 400);
      const paths = error.errors!.map((e) => e.path);
      expect(paths).toEqual(expect.arrayContaining(['email', 'password']));
      expect(error.errors!.every((e) => typeof e.message === 'string' && e.message.length > 0)).toBe(true);
      expect(client.session).toBeNull();

      const guestError = await expectError(client.guest({ display_name: '' }), 'VALIDATION_FAILED', 400);
      expect(guestError.errors!.map((e) => e.path)).toEqual(['display_name']);
    });

    it('signing in again closes a connection made as the previous user; the next one is the new user', async () => {
      const client = clientOf(server.url);
      await client.guest({ display_name: 'Before' });
      const guestId = idOf(client);
      await client.connect();
      expect(client.connectionState).toBe('connected');
      expect(await server.app.io.in(userChannel(guestId)).fetchSockets()).toHaveLength(1);

      await client.register({ email: uniqueEmail('sdk-switch'), password, display_name: 'After' });
      const hostId = idOf(client);
      expect(hostId).not.toBe(guestId);
      expect(client.connectionState).toBe('disconnected');
      await client.connect();
      const sockets = await server.app.io.in(userChannel(hostId)).fetchSockets();
      expect(sockets.map((s) => s.data.userId)).toContain(hostId);
      await quietFor(50);
      expect(await server.app.io.in(userChannel(guestId)).fetchSockets()).toHaveLength(0);
    });
  });

  describe('meetings', () => {
    it('create (guests cannot host), getRoom, and the validation paths of create', async () => {
      const host = await hostClient(server);
      const room = await host.meetings.create({ name: 'SDK standup', settings: { lock_room: true, max_participants: 5 } });
      expect(room).toMatchObject({
        room_code: expect.stringMatching(/^[A-Za-z0-9_-]{12}$/),
        name: 'SDK standup',
        status: 'pending',
        host_id: idOf(host),
        settings: { lock_room: true, enable_transcription: false, max_participants: 5 },
        started_at: null,
        ended_at: null,
        participant_count: 0,
        join_url: expect.stringContaining(`/join/${room.room_code}`),
      });
      expect(await host.meetings.getRoom(room.room_code)).toMatchObject({ room_code: room.room_code, name: 'SDK standup', status: 'pending', lobby_count: 0 });

      const guest = await guestClient(server);
      const fetched = await guest.meetings.getRoom(room.room_code);
      expect(fetched.room_code).toBe(room.room_code);
      expect(fetched.lobby_count).toBeUndefined(); // the host only
      await expectError(guest.meetings.create({ name: 'Not mine' }), 'GUESTS_CANNOT_HOST', 403);

      await expectError(host.meetings.getRoom('AAAAAAAAAAAA'), 'ROOM_NOT_FOUND', 404);
      await expectError(host.meetings.getRoom('no such room/../x'), 'ROOM_NOT_FOUND', 404);
      const invalid = await expectError(host.meetings.create({ name: 'Tiny', settings: { max_participants: 1 } }), 'VALIDATION_FAILED', 400);
      expect(invalid.errors!.map((e) => e.path)).toEqual(['settings.max_participants']);
      const unnamed = await expectError(host.meetings.create({ name: '   ' }), 'VALIDATION_FAILED', 400);
      expect(unnamed.errors!.map((e) => e.path)).toEqual(['name']);
    });

    it('join: joined for the host, waiting in a locked room; participants with the lobby for the host only', async () => {
      const host = await hostClient(server);
      const { room_code: code } = await host.meetings.create({ name: 'Locked', settings: { lock_room: true } });

      const hostJoin = await host.meetings.join(code);
      expect(hostJoin.status).toBe('joined');
      expect(hostJoin.room).toMatchObject({ room_code: code, status: 'active' });
      expect(hostJoin.participant).toMatchObject({ user_id: idOf(host), role: 'host' });

      const guest = await guestClient(server, 'Wanda');
      const guestJoin = await guest.meetings.join(code, { language: 'pt-BR', hardware_ready: true });
      expect(guestJoin.status).toBe('waiting');
      expect(guestJoin.participant).toBeUndefined();

      const forHost = await host.meetings.participants(code);
      expect(forHost.participants.map((p) => p.user_id)).toEqual([idOf(host)]);
      expect(forHost.lobby).toEqual([
        { user_id: idOf(guest), display_name: 'Wanda', language: 'pt-BR', hardware_ready: true, waiting_since: expect.any(String), invited: false },
      ]);
      expect((await host.meetings.getRoom(code)).lobby_count).toBe(1);

      // A waiting user is not a participant yet.
      await expectError(guest.meetings.participants(code), 'NOT_A_PARTICIPANT', 403);
      await expectError(guest.meetings.join('AAAAAAAAAAAA'), 'ROOM_NOT_FOUND', 404);
      const badLanguage = await expectError(guest.meetings.join(code, { language: 'not a language!' }), 'VALIDATION_FAILED', 400);
      expect(badLanguage.errors!.map((e) => e.path)).toEqual(['language']);
    });

    it('admit, admitAll, reject (host only; NOT_HOST, NOT_IN_LOBBY)', async () => {
      const host = await hostClient(server);
      const { room_code: code } = await host.meetings.create({ name: 'Door', settings: { lock_room: true } });
      await host.meetings.join(code);
      const [ann, ben, cid, dee] = await Promise.all(['Ann', 'Ben', 'Cid', 'Dee'].map((name) => guestClient(server, name)));
      for (const guest of [ann!, ben!, cid!, dee!]) expect((await guest.meetings.join(code)).status).toBe('waiting');

      await expectError(ann!.meetings.admit(code, idOf(ben!)), 'NOT_HOST', 403);
      await expectError(ann!.meetings.admitAll(code), 'NOT_HOST', 403);
      await expectError(ann!.meetings.reject(code, idOf(ben!)), 'NOT_HOST', 403);

      const admitted = await host.meetings.admit(code, idOf(ann!));
      expect(admitted).toEqual({ status: 'admitted', participant: expect.objectContaining({ user_id: idOf(ann!), display_name: 'Ann', role: 'guest' }) });
      // Admitting again answers the same; somebody who never asked is not in the lobby.
      expect((await host.meetings.admit(code, idOf(ann!))).status).toBe('admitted');
      const stranger = await guestClient(server, 'Stranger');
      await expectError(host.meetings.admit(code, idOf(stranger)), 'NOT_IN_LOBBY', 409);
      await expectError(host.meetings.reject(code, idOf(stranger)), 'NOT_IN_LOBBY', 409);
      const notUuid = await expectError(host.meetings.admit(code, 'not-a-uuid'), 'VALIDATION_FAILED', 400);
      expect(notUuid.errors!.length).toBeGreaterThan(0);

      expect(await host.meetings.reject(code, idOf(ben!))).toEqual({ status: 'rejected' });
      expect(await host.meetings.admitAll(code)).toEqual({ admitted: [idOf(cid!), idOf(dee!)], waiting: [] });

      const list = await host.meetings.participants(code);
      expect(list.lobby).toEqual([]);
      expect(list.participants.map((p) => p.user_id).sort()).toEqual([idOf(host), idOf(ann!), idOf(cid!), idOf(dee!)].sort());
      // A participant sees the list, without the lobby.
      const forAnn = await ann!.meetings.participants(code);
      expect(forAnn.participants).toHaveLength(4);
      expect(forAnn.lobby).toBeUndefined();
      // Ben was rejected: he may ask again.
      expect((await ben!.meetings.join(code)).status).toBe('waiting');
    });

    it('remove (banned from joining again), leave, configure, end', async () => {
      const host = await hostClient(server);
      const { room_code: code } = await host.meetings.create({ name: 'Open' });
      await host.meetings.join(code);
      const stay = await guestClient(server, 'Stay');
      const kick = await guestClient(server, 'Kick');
      expect((await stay.meetings.join(code)).status).toBe('joined');
      expect((await kick.meetings.join(code)).status).toBe('joined');

      await expectError(stay.meetings.remove(code, idOf(kick)), 'NOT_HOST', 403);
      expect(await host.meetings.remove(code, idOf(kick))).toEqual({ status: 'removed' });
      await expectError(kick.meetings.join(code), 'REMOVED_FROM_ROOM', 403);
      await expectError(host.meetings.remove(code, idOf(kick)), 'NOT_A_PARTICIPANT', 409);
      await expectError(host.meetings.remove(code, idOf(host)), 'VALIDATION_FAILED', 400);

      expect(await stay.meetings.leave(code)).toEqual({ status: 'left' });
      expect(await stay.meetings.leave(code)).toEqual({ status: 'left' }); // also when not there
      await expectError(stay.meetings.participants(code), 'NOT_A_PARTICIPANT', 403);

      await expectError(stay.meetings.configure(code, { lock_room: true }), 'NOT_HOST', 403);
      expect(await host.meetings.configure(code, { lock_room: true, max_participants: 3 })).toEqual({
        settings: { lock_room: true, enable_transcription: false, max_participants: 3 },
        scheduled_start_at: null,
        scheduled_end_at: null,
      });
      expect((await stay.meetings.join(code)).status).toBe('waiting'); // locked now
      const tooMany = await expectError(host.meetings.configure(code, { max_participants: 100_000 }), 'VALIDATION_FAILED', 400);
      expect(tooMany.errors!.map((e) => e.path)).toEqual(['max_participants']);
      const unknown = await expectError(host.meetings.configure(code, { colour: 'red' } as never), 'VALIDATION_FAILED', 400);
      expect(unknown.errors!.map((e) => e.path)).toEqual(['colour']);

      await expectError(stay.meetings.end(code), 'NOT_HOST', 403);
      const ended = await host.meetings.end(code);
      expect(ended).toMatchObject({ room_code: code, status: 'ended', ended_at: expect.any(String), participant_count: 0 });
      expect(await host.meetings.end(code)).toMatchObject({ status: 'ended', ended_at: ended.ended_at });
      expect((await stay.meetings.getRoom(code)).status).toBe('ended'); // ended rooms stay readable
      await expectError(stay.meetings.join(code), 'ROOM_NOT_FOUND', 404);
      await expectError(host.meetings.configure(code, { lock_room: false }), 'ROOM_NOT_FOUND', 404);
      await expectError(host.meetings.leave('AAAAAAAAAAAA'), 'ROOM_NOT_FOUND', 404);
    });

    it('history: newest first, cursor pagination, and role host / participant / all', async () => {
      const host = await hostClient(server);
      const guest = await guestClient(server, 'Attendee');
      const codes: string[] = [];
      for (const name of ['First', 'Second', 'Third']) {
        const { room_code } = await host.meetings.create({ name });
        codes.push(room_code);
      }
      // The guest attends the second room; the first is never started.
      await host.meetings.join(codes[1]!);
      expect((await guest.meetings.join(codes[1]!)).status).toBe('joined');
      await host.meetings.join(codes[2]!);
      for (const code of codes) {
        await host.meetings.end(code);
        await quietFor(5); // distinct ended_at, so "newest first" is one order
      }
      const newestFirst = [...codes].reverse();

      const page1 = await host.meetings.history({ limit: 2 });
      expect(page1.items.map((i) => i.room_code)).toEqual(newestFirst.slice(0, 2));
      expect(page1.next_cursor).toEqual(expect.any(String));
      expect(page1.items[0]).toMatchObject({ name: 'Third', role: 'host', ended_at: expect.any(String), participant_count: 1 });
      const page2 = await host.meetings.history({ limit: 2, cursor: page1.next_cursor! });
      expect(page2.items.map((i) => i.room_code)).toEqual(newestFirst.slice(2));
      expect(page2.items[0]).toMatchObject({ name: 'First', duration_seconds: 0, started_at: null });
      expect(page2.next_cursor).toBeNull();
      expect((await host.meetings.history()).items.map((i) => i.room_code)).toEqual(newestFirst);

      // The host's own rooms are not "participant" history; the guest's attended room is.
      expect((await host.meetings.history({ role: 'participant' })).items).toEqual([]);
      const attended = await guest.meetings.history({ role: 'participant' });
      expect(attended.items).toEqual([expect.objectContaining({ room_code: codes[1], name: 'Second', role: 'guest', participant_count: 2 })]);
      expect(attended.next_cursor).toBeNull();
      expect((await guest.meetings.history({ role: 'all' })).items.map((i) => i.room_code)).toEqual([codes[1]]);
      expect((await host.meetings.history({ role: 'all', limit: 100 })).items.map((i) => i.room_code)).toEqual(newestFirst);

      const badLimit = await expectError(host.meetings.history({ limit: 0 }), 'VALIDATION_FAILED', 400);
      expect(badLimit.errors!.map((e) => e.path)).toEqual(['limit']);
    });

    it('scheduled meetings: create with a schedule, move it, and read the upcoming list', async () => {
      const host = await hostClient(server);
      const start = new Date(Date.now() + 3_600_000).toISOString();
      const room = await host.meetings.create({ name: 'Planned', scheduled_start_at: start });
      expect(room).toMatchObject({ status: 'pending', scheduled_start_at: start, scheduled_end_at: null });
      const end = new Date(Date.now() + 7_200_000).toISOString();
      expect(await host.meetings.configure(room.room_code, { scheduled_end_at: end })).toMatchObject({ scheduled_start_at: start, scheduled_end_at: end });
      const upcoming = await host.meetings.upcoming({ limit: 10 });
      expect(upcoming.items).toEqual([expect.objectContaining({ room_code: room.room_code, role: 'host', scheduled_end_at: end })]);
      const bad = await expectError(host.meetings.create({ name: 'Past', scheduled_start_at: '2020-01-01T00:00:00Z' }), 'VALIDATION_FAILED', 400);
      expect(bad.errors!.map((e) => e.path)).toEqual(['scheduled_start_at']);
    });
  });

  describe('realtime: what the SDK itself does (errors, states, re-attach)', () => {
    it('ack errors become MeetingErrors: NOT_A_PARTICIPANT before join, ROOM_NOT_FOUND, VALIDATION_FAILED with paths, NOT_IN_LOBBY', async () => {
      const { code } = await startedRoom(server);
      const guest = await guestClient(server, 'Early');
      const notYet = await expectError(guest.attach(code), 'NOT_A_PARTICIPANT', 0);
      expect(notYet.message.length).toBeGreaterThan(0);
      await expectError(guest.setHardwareReady(code, true), 'NOT_A_PARTICIPANT', 0);
      await expectError(guest.attach('AAAAAAAAAAAA'), 'ROOM_NOT_FOUND', 0);
      const invalid = await expectError(guest.attach('short'), 'VALIDATION_FAILED', 0);
      expect(invalid.errors!.map((e) => e.path)).toEqual(['room_code']);

      expect((await guest.meetings.join(code)).status).toBe('joined');
      await expectError(guest.cancelWaiting(code), 'NOT_IN_LOBBY', 0);
      expect((await guest.attach(code)).status).toBe('joined');
      expect(guest.connectionState).toBe('connected'); // refused events leave the connection alone
    });

    it('connect() with a bad token (or none) rejects with UNAUTHENTICATED; the state is unauthenticated', async () => {
      const guest = await guestClient(server, 'Forger');
      const forged = clientOf(server.url, { session: { ...guest.session!, access_token: 'garbage' } as SessionView });
      const states = recordStates(forged);
      const error = await expectError(forged.connect(), 'UNAUTHENTICATED', 0);
      expect(error.message).toBe('UNAUTHENTICATED');
      expect(forged.connectionState).toBe('unauthenticated');
      expect(states).toEqual(['connecting', 'unauthenticated']);
      // Events need a connection, so they fail the same way.
      await expectError(forged.attach('AAAAAAAAAAAA'), 'UNAUTHENTICATED', 0);

      const anonymous = clientOf(server.url);
      await expectError(anonymous.connect(), 'UNAUTHENTICATED', 0);
      expect(anonymous.connectionState).toBe('unauthenticated');

      // Signing in makes the next connect work.
      await anonymous.guest({ display_name: 'Now signed in' });
      await anonymous.connect();
      expect(anonymous.connectionState).toBe('connected');
    });

    it('a re-attach to a room that ended meanwhile reports ok:false ROOM_NOT_FOUND, and is not tried again', async () => {
      const { host, code } = await startedRoom(server);
      const guest = await attendee(server, code, 'Ed Ended');
      const ended = nextEvent(guest, 'room:ended');
      await host.meetings.end(code);
      expect((await ended).room_code).toBe(code);

      const reattached = nextReattach(guest);
      await cutOff(server, guest);
      const outcome = await reattached;
      expect(outcome.ok).toBe(false);
      expect(outcome.room_code).toBe(code);
      if (outcome.ok) throw new Error('unreachable');
      expect(outcome.error).toBeInstanceOf(MeetingError);
      expect(outcome.error.code).toBe('ROOM_NOT_FOUND');
      expect(guest.connectionState).toBe('connected');

      // The room is forgotten: the next unrecovered reconnect attaches nothing.
      const outcomes: Reattached[] = [];
      guest.onReattach((o) => outcomes.push(o));
      await cutOff(server, guest);
      await untilState(guest, 'reconnecting');
      await untilState(guest, 'connected');
      await quietFor(200);
      expect(outcomes).toEqual([]);
    });

    it('disconnect() while waiting to come back after an io server disconnect stays disconnected', async () => {
      const guest = await guestClient(server, 'Quitter');
      await guest.connect();
      const states = recordStates(guest);
      await cutOff(server, guest);
      await untilState(guest, 'reconnecting');
      guest.disconnect();
      expect(guest.connectionState).toBe('disconnected');
      await quietFor(850); // past the SDK's 0.25-0.75 s reconnect delay
      expect(guest.connectionState).toBe('disconnected');
      expect(states).toEqual(['reconnecting', 'disconnected']);
      expect(await server.app.io.in(userChannel(idOf(guest))).fetchSockets()).toHaveLength(0);
    });
  });

  describe('when the server cannot be reached or is not the API', () => {
    let other: HttpServer | undefined;
    afterEach(async () => {
      if (other) await new Promise((resolve) => other!.close(resolve));
      other = undefined;
    });

    it('REST calls fail with NETWORK_ERROR (status 0) on a closed port, and the session stays unset', async () => {
      const client = clientOf(await closedPortUrl());
      await expectError(client.guest({ display_name: 'Nobody' }), 'NETWORK_ERROR', 0);
      expect(client.session).toBeNull();
      await expectError(client.meetings.getRoom('AAAAAAAAAAAA'), 'NETWORK_ERROR', 0);
    });

    it('connect() on a closed port fails with NETWORK_ERROR after its timeout; disconnect() stops the retries', async () => {
      const guest = await guestClient(server);
      const client = clientOf(await closedPortUrl(), { session: guest.session, socket: { reconnectionDelay: 50, reconnectionDelayMax: 100 } });
      const states = recordStates(client);
      const error = await expectError(client.connect(400), 'NETWORK_ERROR', 0);
      expect(error.message).toMatch(/400 ms/);
      expect(states[0]).toBe('connecting');
      expect(states).not.toContain('connected');
      client.disconnect();
      expect(client.connectionState).toBe('disconnected');
    });

    it('an answer that is not the API is NETWORK_ERROR with its HTTP status', async () => {
      let status = 502;
      other = createServer((_req, res) => {
        res.writeHead(status, { 'content-type': 'text/html' });
        res.end('<html>Bad gateway</html>');
      });
      await new Promise<void>((resolve) => other!.listen(0, '127.0.0.1', resolve));
      const client = clientOf(`http://127.0.0.1:${(other.address() as AddressInfo).port}`);
      await expectError(client.guest({ display_name: 'Proxy' }), 'NETWORK_ERROR', 502);
      status = 200;
      await expectError(client.meetings.history(), 'NETWORK_ERROR', 200);
    });
  });
});

describe.each(liveStateModes())('MeetingClient realtime events (%s)', (_mode, env) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(env);
  });
  afterAll(async () => {
    disconnectClients();
    await server?.close();
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  it('connect, attach (AttachData), participant events, setHardwareReady, detach, and on() unsubscribing', async () => {
    const host = await hostClient(server);
    const hostId = idOf(host);
    const { room_code: code } = await host.meetings.create({ name: 'Attach' });
    await host.meetings.join(code);
    const hostStates = recordStates(host);
    expect(host.connectionState).toBe('disconnected');
    await host.connect();
    await host.connect(); // already open: nothing happens
    expect(host.connectionState).toBe('connected');
    expect(hostStates).toEqual(['connecting', 'connected']);

    const hostView = await host.attach(code);
    expect(hostView).toEqual({
      status: 'joined',
      participants: [expect.objectContaining({ user_id: hostId, role: 'host', status: 'connected', display_name: 'Hana Host' })],
      active_speaker: null,
      settings: { lock_room: false, enable_transcription: false, max_participants: 100 },
      ends_at: null,
      lobby: [],
      ice_servers: [],
      mesh_max_participants: 4,
    });

    // A guest joins over REST and attaches (attach opens the connection by itself).
    const guest = await guestClient(server, 'Gail');
    const guestId = idOf(guest);
    const joined = nextEvent(host, 'participant:joined', (p) => p.participant.user_id === guestId);
    expect((await guest.meetings.join(code, { language: 'en' })).status).toBe('joined');
    expect(await joined).toEqual({
      room_code: code,
      participant: expect.objectContaining({ user_id: guestId, display_name: 'Gail', role: 'guest', language: 'en' }),
    });
    const connected = nextEvent(host, 'participant:updated', (p) => p.participant.user_id === guestId && p.participant.status === 'connected');
    expect(guest.connectionState).toBe('disconnected');
    const guestView = await guest.attach(code);
    expect(guest.connectionState).toBe('connected');
    expect(guestView.status).toBe('joined');
    expect(guestView.lobby).toBeUndefined();
    expect(guestView.participants.map((p) => p.user_id).sort()).toEqual([hostId, guestId].sort());
    await connected;
    expect(await guest.attach(code)).toMatchObject({ status: 'joined' }); // again: harmless

    // Hardware status reaches the room.
    const ready = nextEvent(host, 'participant:updated', (p) => p.participant.user_id === guestId && p.participant.hardware_ready);
    expect(await guest.setHardwareReady(code, true)).toBe(true);
    expect((await ready).participant).toMatchObject({ user_id: guestId, hardware_ready: true, status: 'connected' });

    // A listener removed with the function on() returned hears nothing more.
    const removed: unknown[] = [];
    const stop = host.on('participant:updated', (payload) => removed.push(payload));
    stop();

    // Detach: the guest shows as disconnected, stays connected itself, and hears no more room events.
    const gone = nextEvent(host, 'participant:updated', (p) => p.participant.user_id === guestId && p.participant.status === 'disconnected');
    const guestHears = record(guest, 'participant:updated');
    await guest.detach(code);
    expect((await gone).participant.status).toBe('disconnected');
    expect(guest.connectionState).toBe('connected');
    const hostReady = nextEvent(host, 'participant:updated', (p) => p.participant.user_id === hostId);
    expect(await host.setHardwareReady(code, true)).toBe(true);
    expect((await hostReady).participant.hardware_ready).toBe(true);
    await quietFor(150);
    expect(guestHears).toEqual([]);
    expect(removed).toEqual([]);
  });

  it("calls: signal reaches the other participant with the server's from, iceServers, setMediaState; a waiting user is NOT_A_PARTICIPANT", async () => {
    const { host, code } = await startedRoom(server);
    const guest = await attendee(server, code, 'Cal');
    const heard = nextEvent(guest, 'rtc:signal');
    const description = { type: 'offer' as const, sdp: 'v=0\r\n' };
    expect(await host.signal(code, idOf(guest), { description })).toBe(true);
    expect(await heard).toEqual({ room_code: code, from: idOf(host), description });
    const candidate = nextEvent(host, 'rtc:signal');
    expect(await guest.signal(code, idOf(host), { candidate: null })).toBe(true);
    expect(await candidate).toEqual({ room_code: code, from: idOf(guest), candidate: null });
    await expectError(host.signal(code, idOf(guest), {}), 'VALIDATION_FAILED', 0);
    expect(await host.iceServers(code)).toEqual([]);

    const media = nextEvent(host, 'participant:updated', (p) => p.participant.user_id === idOf(guest) && p.participant.media !== null);
    await guest.setMediaState(code, { audio: false, video: true });
    expect((await media).participant.media).toEqual({ audio: false, video: true });

    const locked = await startedRoom(server, { lock_room: true });
    const waiting = await guestClient(server, 'Wes');
    expect((await waiting.meetings.join(locked.code)).status).toBe('waiting');
    expect((await waiting.attach(locked.code)).status).toBe('waiting');
    await expectError(waiting.signal(locked.code, idOf(locked.host), { candidate: null }), 'NOT_A_PARTICIPANT', 0);
    await expectError(waiting.iceServers(locked.code), 'NOT_A_PARTICIPANT', 0);
  });

  it('the lobby: lobby:waiting and lobby:entered, attach while waiting, admitted, rejected, cancelWaiting', async () => {
    const { host, code } = await startedRoom(server, { lock_room: true });

    const wanda = await guestClient(server, 'Wanda');
    await wanda.connect();
    const waiting = nextEvent(wanda, 'lobby:waiting');
    const entered = nextEvent(host, 'lobby:entered', (p) => p.user_id === idOf(wanda));
    expect((await wanda.meetings.join(code)).status).toBe('waiting');
    expect(await waiting).toEqual({ room_code: code, reason: 'locked' });
    expect(await entered).toEqual({ room_code: code, user_id: idOf(wanda), display_name: 'Wanda' });

    const waitingView = await wanda.attach(code);
    expect(waitingView).toEqual({
      status: 'waiting',
      // Waiting, Wanda is told nothing about who is in the room.
      participants: [],
      active_speaker: null,
      settings: { lock_room: true, enable_transcription: false, max_participants: 100 },
      ends_at: null,
    });
    // Hardware while waiting lands in the host's lobby entry.
    expect(await wanda.setHardwareReady(code, true)).toBe(true);
    expect((await host.meetings.participants(code)).lobby).toEqual([expect.objectContaining({ user_id: idOf(wanda), hardware_ready: true })]);

    const admitted = nextEvent(wanda, 'lobby:admitted');
    const joinedAtHost = nextEvent(host, 'participant:joined', (p) => p.participant.user_id === idOf(wanda));
    const joinedAtWanda = nextEvent(wanda, 'participant:joined', (p) => p.participant.user_id === idOf(wanda));
    expect((await host.meetings.admit(code, idOf(wanda))).status).toBe('admitted');
    expect(await admitted).toEqual({ room_code: code });
    expect((await joinedAtHost).participant).toMatchObject({ user_id: idOf(wanda), status: 'connected', hardware_ready: true });
    await joinedAtWanda; // an attached waiting user's socket enters the room channel on admission
    expect((await wanda.attach(code)).status).toBe('joined');

    const rita = await guestClient(server, 'Rita');
    await rita.connect();
    const ritaEntered = nextEvent(host, 'lobby:entered', (p) => p.user_id === idOf(rita));
    expect((await rita.meetings.join(code)).status).toBe('waiting');
    await ritaEntered;
    const rejected = nextEvent(rita, 'lobby:rejected');
    expect(await host.meetings.reject(code, idOf(rita))).toEqual({ status: 'rejected' });
    expect(await rejected).toEqual({ room_code: code });

    const carl = await guestClient(server, 'Carl');
    const carlEntered = nextEvent(host, 'lobby:entered', (p) => p.user_id === idOf(carl));
    expect((await carl.meetings.join(code)).status).toBe('waiting');
    await carlEntered;
    const left = nextEvent(host, 'lobby:left', (p) => p.user_id === idOf(carl));
    await carl.cancelWaiting(code); // opens the connection by itself
    expect(await left).toEqual({ room_code: code, user_id: idOf(carl) });
    expect((await host.meetings.participants(code)).lobby).toEqual([]);
    await carl.cancelWaiting(code); // not waiting any more: a no-op
  });

  it('sendLevel: -20 dBFS every 50 ms for over 300 ms makes the sender the speaker; over-full-scale levels are clamped to 0, not dropped', async () => {
    const { host, code } = await startedRoom(server);
    const guest = await attendee(server, code, 'Sam Speaker');
    guest.sendLevel('AAAAAAAAAAAA', -20); // a room the socket is not attached to: ignored, no error

    const guestSpeaks = nextEvent(host, 'speaker:changed', (p) => p.user_id === idOf(guest), 3000);
    const startedAt = Date.now();
    guest.sendLevel(code, -20);
    const loud = setInterval(() => guest.sendLevel(code, -20), 50);
    let event: PayloadOf<'speaker:changed'>;
    try {
      event = await guestSpeaks;
    } finally {
      clearInterval(loud);
    }
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(280);
    expect(event).toEqual({ room_code: code, user_id: idOf(guest), at: expect.any(String) });
    guest.sendLevel(code, -Infinity); // ends the guest's run (sent as -127)

    // +6 "dBFS" is outside the contract; the SDK sends 0 (the server drops malformed levels silently).
    const hostSpeaks = nextEvent(guest, 'speaker:changed', (p) => p.user_id === idOf(host), 3000);
    host.sendLevel(code, 6);
    const louder = setInterval(() => host.sendLevel(code, 6), 50);
    try {
      expect(await hostSpeaks).toEqual({ room_code: code, user_id: idOf(host), at: expect.any(String) });
    } finally {
      clearInterval(louder);
    }
  });

  it('after an unrecovered reconnect (io server disconnect) the client comes back and attaches again by itself', async () => {
    const { host, code } = await startedRoom(server);
    const guest = await attendee(server, code, 'Rex Reconnect');
    const guestId = idOf(guest);
    const states = recordStates(guest);
    const reattached = nextReattach(guest);
    const backAtHost = nextEvent(host, 'participant:updated', (p) => p.participant.user_id === guestId && p.participant.status === 'disconnected');

    const cutAt = Date.now();
    await cutOff(server, guest);
    const outcome = await reattached;
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(200); // the SDK waits 0.25-0.75 s before coming back
    expect(outcome).toEqual({
      room_code: code,
      ok: true,
      data: expect.objectContaining({ status: 'joined', participants: expect.arrayContaining([expect.objectContaining({ user_id: guestId })]) }),
    });
    expect(states).toEqual(['reconnecting', 'connected']);
    expect(guest.connectionState).toBe('connected');
    await backAtHost; // the room saw the old socket go

    // Room events reach the re-attached client again.
    const heard = nextEvent(guest, 'participant:updated', (p) => p.participant.user_id === idOf(host) && p.participant.hardware_ready);
    await host.setHardwareReady(code, true);
    expect((await heard).room_code).toBe(code);
    const newcomer = nextEvent(guest, 'participant:joined', (p) => p.participant.display_name === 'Late');
    await attendee(server, code, 'Late');
    expect((await newcomer).room_code).toBe(code);
    const sockets = await server.app.io.in(userChannel(guestId)).fetchSockets();
    expect(sockets).toHaveLength(1);
  });
});
