import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { testRedisUrl } from '../support/env';
import { createRoom, guestUser, hostUser, meetings, uniqueRedisPrefix, type Actor } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket, nextEvent, quietFor, record, request, type ClientSocket } from '../support/sockets';

/**
 * Active-speaker detection (docs/realtime.md "Active speaker") end to end: real clients report levels every 50 ms
 * like a browser would, the server decides on its own clock, and the room's `speaker:changed`
 * events and the `room:{code}:active_speaker` key are what a frontend and other services see.
 * Detection does not depend on the live-state mode, so this runs against Redis only.
 */

const prefix = uniqueRedisPrefix();

describe('active speaker', () => {
  let server: TestServer;
  let api: ReturnType<typeof meetings>;
  let redis: Redis;

  beforeAll(async () => {
    server = await startServer({ REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix, ACTIVE_SPEAKER_THRESHOLD_DB: '-40', ACTIVE_SPEAKER_MIN_MS: '300' });
    api = meetings(server);
    redis = new Redis(testRedisUrl);
  });
  afterEach(() => {
    stopAllLevels();
    closeSockets();
  });
  afterAll(async () => {
    await server?.close();
    await redis?.quit();
    await deleteRedisPrefix(prefix);
  });

  const senders = new Set<NodeJS.Timeout>();
  function stopAllLevels() {
    for (const timer of senders) clearInterval(timer);
    senders.clear();
  }

  /** Sends `level` every 50 ms, starting now, like a browser's audio meter. */
  function sendLevels(socket: ClientSocket, code: string, level: number) {
    const firstAt = performance.now();
    const send = () => socket.emit('audio:level', { room_code: code, level });
    send();
    const timer = setInterval(send, 50);
    senders.add(timer);
    return {
      firstAt,
      stop() {
        clearInterval(timer);
        senders.delete(timer);
      },
    };
  }

  /** A started room with `names.length` attached participants (the first is the host). */
  async function room(names: string[], settings: object = {}) {
    const host = await hostUser(server, names[0]);
    const created = await createRoom(server, host, { name: 'Speakers', settings });
    const code = created.room_code;
    const people: { user: Actor; socket: ClientSocket }[] = [];
    for (const [i, name] of names.entries()) {
      const user = i === 0 ? host : await guestUser(server, name);
      expect((await api(user, 'POST', `/${code}/join`)).body.status).toBe('joined');
      const socket = await connectSocket(server, user.token);
      expect((await request(socket, 'room:attach', { room_code: code })).ok).toBe(true);
      people.push({ user, socket });
    }
    return { code, host, people };
  }

  const speakerKey = (code: string) => redis.get(`${prefix}room:{${code}}:active_speaker`);

  it('a participant at -20 dBFS becomes the speaker, not before 300 ms of loud samples; -60 dBFS never does', async () => {
    const { code, people } = await room(['Hana', 'Ann', 'Quinn']);
    const [listener, ann, quinn] = people as [(typeof people)[0], (typeof people)[0], (typeof people)[0]];
    const changes = record(listener.socket, 'speaker:changed');

    const quiet = sendLevels(quinn.socket, code, -60);
    const loud = sendLevels(ann.socket, code, -20);
    const changed = await nextEvent(listener.socket, 'speaker:changed');
    const elapsed = performance.now() - loud.firstAt;
    expect(changed).toEqual({ room_code: code, user_id: ann.user.userId, at: expect.any(String) });
    // 300 ms on the server's clock from the first loud sample it received, whether or not a
    // sample arrives at that moment.
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(await speakerKey(code)).toBe(ann.user.userId);

    // A second of both speaking on: nothing changes, so nothing is broadcast.
    await quietFor(1000);
    quiet.stop();
    loud.stop();
    expect(changes).toHaveLength(1);
  });

  it('a louder second speaker takes the floor; a quieter one only when the speaker stops; the last speaker stays through silence', async () => {
    const { code, people } = await room(['Hana', 'Ann', 'Bob']);
    const [listener, ann, bob] = people as [(typeof people)[0], (typeof people)[0], (typeof people)[0]];
    const changes = record(listener.socket, 'speaker:changed');
    const speakerIs = (userId: string) => nextEvent(listener.socket, 'speaker:changed', (p) => p.user_id === userId);

    // Ann speaks at -25.
    const annVoice = sendLevels(ann.socket, code, -25);
    await speakerIs(ann.user.userId);

    // Bob, quieter, speaks while Ann still speaks: Ann keeps the floor.
    let bobVoice = sendLevels(bob.socket, code, -35);
    await quietFor(700);
    expect(changes.map((c) => c.user_id)).toEqual([ann.user.userId]);
    bobVoice.stop();
    await quietFor(600); // Bob's gap ends his run

    // Bob, louder, takes over at once.
    bobVoice = sendLevels(bob.socket, code, -10);
    await speakerIs(bob.user.userId);
    expect(await speakerKey(code)).toBe(bob.user.userId);

    // Bob goes quiet (a low sample) while Ann still speaks: the floor returns to Ann.
    bobVoice.stop();
    const back = speakerIs(ann.user.userId);
    bob.socket.emit('audio:level', { room_code: code, level: -90 });
    await back;

    // Ann goes silent: she stays the speaker.
    annVoice.stop();
    await quietFor(800);
    expect(changes.map((c) => c.user_id)).toEqual([ann.user.userId, bob.user.userId, ann.user.userId]);
    expect(await speakerKey(code)).toBe(ann.user.userId);
  });

  it('the speaker leaving clears the floor: speaker:changed null, key deleted', async () => {
    const { code, people } = await room(['Hana', 'Ann']);
    const [listener, ann] = people as [(typeof people)[0], (typeof people)[0]];
    const voice = sendLevels(ann.socket, code, -20);
    await nextEvent(listener.socket, 'speaker:changed');
    voice.stop();
    const cleared = nextEvent(listener.socket, 'speaker:changed', (p) => p.user_id === null);
    expect((await api(ann.user, 'POST', `/${code}/leave`)).status).toBe(200);
    expect(await cleared).toEqual({ room_code: code, user_id: null, at: expect.any(String) });
    expect(await speakerKey(code)).toBeNull();
  });

  it('levels from a lobby user, a stranger, or for a room the socket is not in change nothing', async () => {
    const { code, host, people } = await room(['Hana', 'Ann'], {});
    const [listener] = people as [(typeof people)[0]];
    await api(host, 'PATCH', `/${code}/config`, { lock_room: true });
    const changes = record(listener.socket, 'speaker:changed');

    const waiter = await guestUser(server, 'Wendy');
    expect((await api(waiter, 'POST', `/${code}/join`)).body.status).toBe('waiting');
    const waiterSocket = await connectSocket(server, waiter.token);
    expect((await request(waiterSocket, 'room:attach', { room_code: code })).data.status).toBe('waiting');
    const stranger = await guestUser(server, 'Stan');
    const strangerSocket = await connectSocket(server, stranger.token);

    // A participant of another room, sending for this one.
    const elsewhere = await room(['Olive']);
    const [olive] = elsewhere.people as [(typeof people)[0]];

    sendLevels(waiterSocket, code, -5);
    sendLevels(strangerSocket, code, -5);
    sendLevels(olive.socket, code, -5);
    await quietFor(900);
    expect(changes).toEqual([]);
    expect(await speakerKey(code)).toBeNull();
  });

  it('a removed participant who keeps sending levels is no longer heard', async () => {
    const { code, host, people } = await room(['Hana', 'Ann']);
    const [listener, ann] = people as [(typeof people)[0], (typeof people)[0]];
    const changes = record(listener.socket, 'speaker:changed');
    sendLevels(ann.socket, code, -20);
    await nextEvent(listener.socket, 'speaker:changed');
    const cleared = nextEvent(listener.socket, 'speaker:changed', (p) => p.user_id === null);
    expect((await api(host, 'POST', `/${code}/remove/${ann.user.userId}`)).status).toBe(200);
    await cleared;
    // Ann's socket goes on sending loud levels for the room it was put out of.
    await quietFor(900);
    expect(changes.map((c) => c.user_id)).toEqual([ann.user.userId, null]);
    expect(await speakerKey(code)).toBeNull();
  });

  it('levels of a detached socket change nothing; attached again, it is heard again', async () => {
    const { code, people } = await room(['Hana', 'Ann', 'Bob']);
    const [listener, ann, bob] = people as [(typeof people)[0], (typeof people)[0], (typeof people)[0]];
    const changes = record(listener.socket, 'speaker:changed');
    const speakerIs = (userId: string) => nextEvent(listener.socket, 'speaker:changed', (p) => p.user_id === userId);
    // Ann speaks throughout, attached or not.
    sendLevels(ann.socket, code, -20);
    await speakerIs(ann.user.userId);
    expect((await request(ann.socket, 'room:detach', { room_code: code })).ok).toBe(true);
    // Detached, Ann is not speaking as far as the room knows: Bob, quieter, takes the floor and
    // keeps it after he stops.
    const bobVoice = sendLevels(bob.socket, code, -30);
    await speakerIs(bob.user.userId);
    bobVoice.stop();
    bob.socket.emit('audio:level', { room_code: code, level: -90 });
    await quietFor(700);
    expect(changes.map((c) => c.user_id)).toEqual([ann.user.userId, bob.user.userId]);
    const back = speakerIs(ann.user.userId);
    expect((await request(ann.socket, 'room:attach', { room_code: code })).ok).toBe(true);
    await back;
    expect(await speakerKey(code)).toBe(ann.user.userId);
  });
});
