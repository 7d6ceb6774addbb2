import { Client } from 'pg';
import { attendanceRows } from '../support/db';
import { testDatabaseUrl } from '../support/env';
import { startCluster, type ClusterNode, type TestCluster } from '../support/cluster';
import { startRedisCluster, type RedisClusterSet } from '../support/redis-cluster';
import { createRoom, guestUser, hostUser, meetings, type Actor } from '../support/meetings';
import { registerUser } from '../support/server';
import { closeSockets, connectSocket, nextEvent, quietFor, record, request } from '../support/sockets';

/**
 * Three real server processes on one Redis and one PostgreSQL (docs/scaling.md "How rooms run in a cluster"), with the
 * pub/sub and the streams adapters, and on a three-primary Redis Cluster with the sharded adapter (docs/scaling.md
 * "Redis Cluster"; the sharded adapter is the same code on one Redis, which the test-time budget leaves out).
 */
describe.each([
  { setup: 'redis adapter', adapter: 'redis', redisCluster: false },
  { setup: 'redis-streams adapter', adapter: 'redis-streams', redisCluster: false },
  { setup: 'redis-sharded adapter, Redis Cluster of 3 primaries', adapter: 'redis-sharded', redisCluster: true },
])('a cluster of 3 nodes ($setup)', ({ adapter, redisCluster }) => {
  let cluster: TestCluster;
  let a: ClusterNode, b: ClusterNode, c: ClusterNode;
  let db: Client;
  let redisSet: RedisClusterSet | undefined;

  beforeAll(async () => {
    redisSet = redisCluster ? await startRedisCluster() : undefined;
    cluster = await startCluster(3, { SOCKET_ADAPTER: adapter, ...(redisSet ? { REDIS_CLUSTER_NODES: redisSet.nodes } : {}) });
    [a, b, c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    db = new Client({ connectionString: testDatabaseUrl });
    await db.connect();
  }, 60_000);

  afterEach(() => closeSockets());

  afterAll(async () => {
    await db?.end();
    await cluster?.close();
    await redisSet?.close();
  });

  /** A room created and started by its host through `owner`, so `owner` runs its actor. */
  async function roomOwnedBy(owner: ClusterNode, settings: object = {}): Promise<{ host: Actor; code: string }> {
    const host = await hostUser(a, 'Hana');
    const { room_code: code } = await createRoom(owner, host, { name: 'Cluster sync', settings });
    expect((await meetings(owner)(host, 'POST', `/${code}/join`, {})).status).toBe(200);
    expect(await cluster.ownerOf(code)).toBe(owner.id);
    return { host, code };
  }

  async function attached(node: ClusterNode, actor: Actor, code: string) {
    const socket = await connectSocket(node, actor.token);
    const ack = await request(socket, 'room:attach', { room_code: code });
    expect(ack.ok).toBe(true);
    return socket;
  }

  it('a guest waiting on one node, admitted through another, hears their own arrival and what follows at once, on the only node with their socket', async () => {
    for (let round = 0; round < 5; round++) {
      const { host, code } = await roomOwnedBy(a, { lock_room: true });
      const gus = await guestUser(b, `Gus ${round}`);
      expect((await meetings(b)(gus, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');
      // Gus's socket is the only one on B in this room: B starts hearing the room when he is let in.
      const socket = await attached(b, gus, code);
      const heard = record(socket, 'participant:joined');
      const updated = nextEvent(socket, 'room:updated');
      expect((await meetings(c)(host, 'POST', `/${code}/admit/${gus.userId}`)).status).toBe(200);
      // The very next command's event, right behind the admission.
      expect((await meetings(c)(host, 'PATCH', `/${code}/config`, { enable_transcription: true })).status).toBe(200);
      await updated;
      expect(heard.map((payload) => payload.participant.user_id)).toEqual([gus.userId]);
    }
  });

  it('relays call signals between sockets on two nodes for a room run on a third, and cuts a removed sender off on every node', async () => {
    const { host, code } = await roomOwnedBy(a);
    const ann = await guestUser(b, 'Ann');
    expect((await meetings(b)(ann, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
    const bob = await guestUser(c, 'Bob');
    expect((await meetings(c)(bob, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
    const annSocket = await attached(b, ann, code);
    const bobSocket = await attached(c, bob, code);

    const offer = { type: 'offer', sdp: 'v=0\r\n' };
    const heard = nextEvent(bobSocket, 'rtc:signal');
    expect(await request(annSocket, 'rtc:signal', { room_code: code, to: bob.userId, description: offer })).toEqual({ ok: true, data: { delivered: true } });
    expect(await heard).toEqual({ room_code: code, from: ann.userId, description: offer });
    const answered = nextEvent(annSocket, 'rtc:signal');
    expect((await request(bobSocket, 'rtc:signal', { room_code: code, to: ann.userId, description: { type: 'answer', sdp: 'v=0\r\n' } })).ok).toBe(true);
    expect(await answered).toMatchObject({ from: bob.userId, description: { type: 'answer' } });

    const atAnn = record(annSocket, 'rtc:signal');
    expect((await meetings(a)(host, 'POST', `/${code}/remove/${bob.userId}`)).status).toBe(200);
    expect((await request(bobSocket, 'rtc:signal', { room_code: code, to: ann.userId, candidate: null })).error.code).toBe('NOT_A_PARTICIPANT');
    await quietFor(300);
    expect(atAnn).toEqual([]);
  });

  it('REST on A reaches the actor on B; sockets on A, B and C all hear the room; the host on A hears a lobby entry made through C', async () => {
    const { host, code } = await roomOwnedBy(b);
    const ann = await guestUser(c, 'Ann');
    expect((await meetings(c)(ann, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
    const bob = await guestUser(a, 'Bob');
    expect((await meetings(a)(bob, 'POST', `/${code}/join`, {})).body.status).toBe('joined');

    const hostSocket = await attached(a, host, code);
    const annSocket = await attached(b, ann, code);
    const bobSocket = await attached(c, bob, code);
    const sockets = [hostSocket, annSocket, bobSocket];

    // A settings change made on A, run on B, is heard on every node.
    const updates = sockets.map((s) => nextEvent(s, 'room:updated'));
    const patched = await meetings(a)(host, 'PATCH', `/${code}/config`, { lock_room: true });
    expect(patched.status).toBe(200);
    for (const update of await Promise.all(updates))
      expect(update).toEqual({ room_code: code, settings: patched.body.settings, status: 'active', scheduled_start_at: null, scheduled_end_at: null });

    // A guest knocks through C: the host's socket on A hears it, and nobody else does.
    const gus = await guestUser(c, 'Gus');
    const gusSocket = await connectSocket(c, gus.token);
    const lobbyAtOthers = [record(annSocket, 'lobby:entered'), record(bobSocket, 'lobby:entered')];
    const entered = nextEvent(hostSocket, 'lobby:entered');
    const waiting = nextEvent(gusSocket, 'lobby:waiting');
    expect((await meetings(c)(gus, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');
    expect(await entered).toEqual({ room_code: code, user_id: gus.userId, display_name: 'Gus' });
    expect(await waiting).toEqual({ room_code: code, reason: 'locked' });

    // Admitted from A: Gus hears it on C, and every socket hears him join.
    const admitted = nextEvent(gusSocket, 'lobby:admitted');
    const joins = sockets.map((s) => nextEvent(s, 'participant:joined', (p) => p.participant.user_id === gus.userId));
    expect((await meetings(a)(host, 'POST', `/${code}/admit/${gus.userId}`)).status).toBe(200);
    expect(await admitted).toEqual({ room_code: code });
    await Promise.all(joins);

    // A socket command on C for the room on B (hardware:status) reaches every node too.
    const gusAttached = await request(gusSocket, 'room:attach', { room_code: code });
    expect(gusAttached.data.status).toBe('joined');
    const hardware = sockets.map((s) => nextEvent(s, 'participant:updated', (p) => p.participant.user_id === gus.userId && p.participant.hardware_ready));
    expect(await request(gusSocket, 'hardware:status', { room_code: code, hardware_ready: true })).toEqual({ ok: true, data: { hardware_ready: true } });
    await Promise.all(hardware);

    await quietFor(100);
    expect(lobbyAtOthers).toEqual([[], []]);
    // Nothing moved: B still runs the room.
    expect(await cluster.ownerOf(code)).toBe(b.id);
  });

  it('90 concurrent joins over 3 nodes into a room capped at 30: exactly 30 get in, the rest are ROOM_FULL, no 5xx', async () => {
    const { code } = await roomOwnedBy(c, { max_participants: 30 });
    const nodes = [a, b, c];
    const crowd = await Promise.all(Array.from({ length: 90 }, (_, i) => guestUser(nodes[i % 3]!, `Guest ${i}`)));
    const responses = await Promise.all(crowd.map((guest, i) => meetings(nodes[i % 3]!)(guest, 'POST', `/${code}/join`, {})));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(responses.filter((r) => r.status === 200 && r.body.status === 'joined')).toHaveLength(30);
    expect(responses.filter((r) => r.status === 409 && r.body.code === 'ROOM_FULL')).toHaveLength(60);
    const open = (await attendanceRows(db, code)).filter((row) => row.left_at === null);
    expect(open).toHaveLength(31); // the host and 30 guests
  });

  it('the same user admitted on 3 nodes at once: one attendance row, one participant:joined', async () => {
    const { host, code } = await roomOwnedBy(a, { lock_room: true });
    const hostSocket = await attached(b, host, code);
    const joined = record(hostSocket, 'participant:joined');
    const guest = await guestUser(c, 'Gus');
    expect((await meetings(c)(guest, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');

    const admits = await Promise.all([a, b, c, a, b, c].map((node) => meetings(node)(host, 'POST', `/${code}/admit/${guest.userId}`)));
    expect(admits.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(await attendanceRows(db, code, guest.userId)).toHaveLength(1);
    await quietFor(200);
    expect(joined.map((p) => p.participant.user_id)).toEqual([guest.userId]);
  });

  it("a room's speaker tuning reaches the detectors on other nodes: with an admitted guest's socket, and when the host changes it", async () => {
    // The room runs on B; the host is on A; Lou waits, attached on C, where the room has no socket yet.
    const { host, code } = await roomOwnedBy(b, { lock_room: true, speaker_threshold_db: -30, speaker_min_ms: 100 });
    const hostSocket = await attached(a, host, code);
    const lou = await guestUser(a, 'Lou');
    expect((await meetings(a)(lou, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');
    const louSocket = await connectSocket(c, lou.token);
    expect((await request(louSocket, 'room:attach', { room_code: code })).data.status).toBe('waiting');
    const admitted = nextEvent(louSocket, 'lobby:admitted');
    expect((await meetings(a)(host, 'POST', `/${code}/admit/${lou.userId}`, {})).status).toBe(200);
    await admitted;

    // -35 dBFS is speech by the server's -40, not by this room's -30: C must have heard the tuning.
    const changes = record(hostSocket, 'speaker:changed');
    const send = () => louSocket.emit('audio:level', { room_code: code, level: -35 });
    send();
    const sender = setInterval(send, 50);
    try {
      await quietFor(700);
      expect(changes).toEqual([]);
      // Lowered through C, run on B, applied on C.
      expect((await meetings(c)(host, 'PATCH', `/${code}/config`, { speaker_threshold_db: -45 })).status).toBe(200);
      expect((await nextEvent(hostSocket, 'speaker:changed')).user_id).toBe(lou.userId);
    } finally {
      clearInterval(sender);
    }
  });

  if (redisCluster) {
    it("keeps each room's keys in one slot, on one primary, and spreads the rooms over the primaries", async () => {
      const rooms = await Promise.all(Array.from({ length: 12 }, (_, i) => roomOwnedBy([a, b, c][i % 3]!)));
      const holders = new Set<number>();
      for (const { code } of rooms) {
        const onPrimaries = await Promise.all(
          redisSet!.client
            .nodes('master')
            .map(async (primary) => ({ port: primary.options.port!, keys: await primary.keys(`${cluster.prefix}room:{${code}}:*`) })),
        );
        const holding = onPrimaries.filter(({ keys }) => keys.length > 0);
        expect(holding).toHaveLength(1);
        // The owner record and the live state the host's join wrote, at least.
        expect(holding[0]!.keys).toEqual(expect.arrayContaining([`${cluster.prefix}room:{${code}}:owner`, `${cluster.prefix}room:{${code}}:participants`]));
        holders.add(holding[0]!.port);
      }
      // Twelve random codes on one primary of three: about one chance in 180 000.
      expect(holders.size).toBeGreaterThanOrEqual(2);
    });
  }

  it('failed logins count against one budget per account across the nodes', async () => {
    const session = await registerUser(a);
    const { email } = session.credentials;
    const nodes = [a, b, c];
    for (let i = 0; i < 10; i++) {
      const wrong = await nodes[i % 3]!.request('POST', '/api/v1/auth/login', { body: { email, password: 'not the password' } });
      expect(wrong.status).toBe(401);
    }
    for (const node of nodes) {
      const refused = await node.request('POST', '/api/v1/auth/login', { body: { email, password: session.credentials.password } });
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('RATE_LIMITED');
    }
  });
});
