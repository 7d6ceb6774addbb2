import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { testDatabaseUrl } from '../support/env';
import { createRoom, guestUser, hostUser, liveStateModes, meetings, type Actor } from '../support/meetings';
import { startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket, nextEvent, quietFor, record, request, type ClientSocket } from '../support/sockets';

/**
 * Per-room speaker tuning (docs/realtime.md "Per-room speaker tuning"): `speaker_threshold_db` and
 * `speaker_min_ms` in a room's settings, within the configured ranges, over REST and heard by
 * the detectors of the room's sockets. The server's defaults here are -40 dBFS and 300 ms;
 * a room may choose within [-60, -20] dBFS and [100, 2000] ms.
 */
describe.each(liveStateModes())('per-room speaker tuning (%s)', (_mode, env) => {
  let server: TestServer;
  let api: ReturnType<typeof meetings>;
  let db: Client;

  beforeAll(async () => {
    server = await startServer({
      ...env,
      ACTIVE_SPEAKER_THRESHOLD_DB: '-40',
      ACTIVE_SPEAKER_MIN_MS: '300',
      ROOM_SPEAKER_THRESHOLD_DB_RANGE: '-60,-20',
      ROOM_SPEAKER_MIN_MS_RANGE: '100,2000',
    });
    api = meetings(server);
    db = new Client({ connectionString: testDatabaseUrl });
    await db.connect();
  });
  const senders = new Set<NodeJS.Timeout>();
  afterEach(() => {
    for (const timer of senders) clearInterval(timer);
    senders.clear();
    closeSockets();
  });
  afterAll(async () => {
    await db?.end();
    await server?.close();
  });

  /** The response is the problem named; returns its body. */
  const expectProblem = (response: { status: number; body: any }, status: number, code: string) => {
    expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
    return response.body;
  };

  const storedSettings = async (code: string) => (await db.query('select settings from rooms where room_code = $1', [code])).rows[0]?.settings;

  /** Sends `level` every 50 ms from now, like a browser's audio meter; returns when it started. */
  function sendLevels(socket: ClientSocket, code: string, level: number): number {
    const send = () => socket.emit('audio:level', { room_code: code, level });
    send();
    senders.add(setInterval(send, 50));
    return performance.now();
  }

  async function attached(user: Actor, code: string): Promise<ClientSocket> {
    const socket = await connectSocket(server, user.token);
    expect((await request(socket, 'room:attach', { room_code: code })).ok).toBe(true);
    return socket;
  }

  /** A started room with the host and `guests` joined and attached. */
  async function room(settings: object, guests: string[]) {
    const host = await hostUser(server, 'Hana');
    const { room_code: code } = await createRoom(server, host, { name: 'Tuned', settings });
    expect((await api(host, 'POST', `/${code}/join`)).body.status).toBe('joined');
    const hostSocket = await attached(host, code);
    const people: ClientSocket[] = [];
    for (const name of guests) {
      const guest = await guestUser(server, name);
      expect((await api(guest, 'POST', `/${code}/join`)).body.status).toBe('joined');
      people.push(await attached(guest, code));
    }
    return { host, code, hostSocket, people };
  }

  it('a room created with its own tuning shows it in settings; a room without keeps exactly the three keys', async () => {
    const host = await hostUser(server);
    const tuned = await createRoom(server, host, { name: 'Webinar', settings: { speaker_min_ms: 1200, speaker_threshold_db: -50.5 } });
    expect(tuned.settings).toEqual({ lock_room: false, enable_transcription: false, max_participants: 100, speaker_threshold_db: -50.5, speaker_min_ms: 1200 });
    expect(Object.keys(tuned.settings)).toEqual(['lock_room', 'enable_transcription', 'max_participants', 'speaker_threshold_db', 'speaker_min_ms']);
    expect((await api(host, 'GET', `/${tuned.room_code}`)).body.settings).toEqual(tuned.settings);
    expect(await storedSettings(tuned.room_code)).toEqual(tuned.settings);

    const plain = await createRoom(server, host, { name: 'Standup', settings: { speaker_min_ms: null } });
    expect(plain.settings).toEqual({ lock_room: false, enable_transcription: false, max_participants: 100 });
    expect(await storedSettings(plain.room_code)).toEqual(plain.settings);
  });

  it('PATCH sets, changes and clears (null) a tuning; the attach reply and room:updated carry it; out of range is 400 and changes nothing', async () => {
    const { host, code, hostSocket } = await room({}, []);
    const updates = record(hostSocket, 'room:updated');

    const set = await api(host, 'PATCH', `/${code}/config`, { speaker_threshold_db: -25 });
    expect(set.status).toBe(200);
    expect(set.body.settings).toEqual({ lock_room: false, enable_transcription: false, max_participants: 100, speaker_threshold_db: -25 });
    const other = await connectSocket(server, host.token);
    expect((await request(other, 'room:attach', { room_code: code })).data.settings).toEqual(set.body.settings);

    for (const [body, field] of [
      [{ speaker_threshold_db: -61 }, 'speaker_threshold_db'],
      [{ speaker_threshold_db: -19.5 }, 'speaker_threshold_db'],
      [{ speaker_threshold_db: '-30' }, 'speaker_threshold_db'],
      [{ speaker_min_ms: 99 }, 'speaker_min_ms'],
      [{ speaker_min_ms: 2001 }, 'speaker_min_ms'],
      [{ speaker_min_ms: 150.5 }, 'speaker_min_ms'],
    ] as const) {
      const refused = expectProblem(await api(host, 'PATCH', `/${code}/config`, body), 400, 'VALIDATION_FAILED');
      expect(refused.errors).toEqual([expect.objectContaining({ path: field })]);
    }
    expectProblem(await api(host, 'POST', '/', { name: 'Too quiet', settings: { speaker_threshold_db: -90 } }), 400, 'VALIDATION_FAILED');

    const changed = await api(host, 'PATCH', `/${code}/config`, { speaker_min_ms: 2000, lock_room: true });
    expect(changed.body.settings).toEqual({
      lock_room: true,
      enable_transcription: false,
      max_participants: 100,
      speaker_threshold_db: -25,
      speaker_min_ms: 2000,
    });
    const cleared = await api(host, 'PATCH', `/${code}/config`, { speaker_threshold_db: null, speaker_min_ms: null });
    expect(cleared.body.settings).toEqual({ lock_room: true, enable_transcription: false, max_participants: 100 });
    expect(await storedSettings(code)).toEqual(cleared.body.settings);
    // Clearing what is not set changes nothing, and announces nothing.
    expect((await api(host, 'PATCH', `/${code}/config`, { speaker_min_ms: null })).body.settings).toEqual(cleared.body.settings);
    await quietFor(100);
    expect(updates.map((update) => update.settings)).toEqual([set.body.settings, changed.body.settings, cleared.body.settings]);
  });

  it('only the host tunes', async () => {
    const { code } = await room({}, []);
    const guest = await guestUser(server, 'Gus');
    await api(guest, 'POST', `/${code}/join`);
    expectProblem(await api(guest, 'PATCH', `/${code}/config`, { speaker_min_ms: 500 }), 403, 'NOT_HOST');
  });

  it("the room's threshold decides who is heard: -35 dBFS is too quiet at -30 and loud enough once the host lowers it", async () => {
    const { host, code, hostSocket, people } = await room({ speaker_threshold_db: -30, speaker_min_ms: 100 }, ['Ann']);
    const ann = people[0]!;
    const changes = record(hostSocket, 'speaker:changed');
    sendLevels(ann, code, -35); // speech by the server's -40, not by this room's -30
    await quietFor(700);
    expect(changes).toEqual([]);

    const heard = nextEvent(hostSocket, 'speaker:changed');
    expect((await api(host, 'PATCH', `/${code}/config`, { speaker_threshold_db: -45 })).status).toBe(200);
    expect((await heard).user_id).toBeTruthy();
  });

  it("the room's minimum decides how soon: 1000 ms of speech here, not the server's 300", async () => {
    const { code, hostSocket, people } = await room({ speaker_min_ms: 1000 }, ['Ann']);
    const heard = nextEvent(hostSocket, 'speaker:changed');
    const firstAt = sendLevels(people[0]!, code, -20);
    await heard;
    expect(performance.now() - firstAt).toBeGreaterThanOrEqual(1000);
  });

  it('a guest admitted from the lobby is heard by the room’s tuning from their first level', async () => {
    const { host, code, hostSocket } = await room({ lock_room: true, speaker_threshold_db: -30, speaker_min_ms: 100 }, []);
    const guest = await guestUser(server, 'Lou');
    expect((await api(guest, 'POST', `/${code}/join`)).body.status).toBe('waiting');
    const guestSocket = await connectSocket(server, guest.token);
    expect((await request(guestSocket, 'room:attach', { room_code: code })).data.status).toBe('waiting');
    const admitted = nextEvent(guestSocket, 'lobby:admitted');
    expect((await api(host, 'POST', `/${code}/admit/${guest.userId}`)).status).toBe(200);
    await admitted;
    const changes = record(hostSocket, 'speaker:changed');
    sendLevels(guestSocket, code, -35);
    await quietFor(700);
    expect(changes).toEqual([]);
  });
});
