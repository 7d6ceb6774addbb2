import { Client } from 'pg';
import { deadlineIndexKey, liveStateKeys } from '../../src/live-state/redis-keys';
import { startCluster, type ClusterNode, type TestCluster } from '../support/cluster';
import { waitFor } from '../support/db';
import { testDatabaseUrl } from '../support/env';
import { createRoom, guestUser, hostUser, meetings, type Actor } from '../support/meetings';
import { startRedisCluster, type RedisClusterSet } from '../support/redis-cluster';
import { closeSockets, connectSocket, nextEvent, request, type ClientSocket } from '../support/sockets';

/**
 * Failover (docs/scaling.md "Failover, measured") with real processes: the node running a room is killed, paused or
 * stopped while other nodes keep serving it. The measured times are printed; the targets
 * (kill → 3 s, SIGTERM → 1 s) are asserted as upper bounds.
 */
describe.each([
  { setup: 'redis adapter', adapter: 'redis', redisCluster: false },
  { setup: 'redis-streams adapter', adapter: 'redis-streams', redisCluster: false },
  // The sharded adapter runs on the Redis Cluster below (on one Redis it is the same code).
  { setup: 'redis-sharded adapter, Redis Cluster of 3 primaries', adapter: 'redis-sharded', redisCluster: true },
])('failover ($setup)', ({ setup, adapter, redisCluster }) => {
  let cluster: TestCluster | undefined;
  let redisSet: RedisClusterSet | undefined;

  beforeAll(async () => {
    redisSet = redisCluster ? await startRedisCluster() : undefined;
  });

  afterEach(async () => {
    closeSockets();
    await cluster?.close();
    cluster = undefined;
  });

  afterAll(async () => {
    await redisSet?.close();
  });

  async function threeNodes(env: Record<string, string> = {}): Promise<[ClusterNode, ClusterNode, ClusterNode]> {
    cluster = await startCluster(3, { SOCKET_ADAPTER: adapter, ...(redisSet ? { REDIS_CLUSTER_NODES: redisSet.nodes } : {}), ...env });
    return cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  }

  async function attached(node: ClusterNode, actor: Actor, code: string): Promise<ClientSocket> {
    const socket = await connectSocket(node, actor.token);
    expect((await request(socket, 'room:attach', { room_code: code })).ok).toBe(true);
    return socket;
  }

  /** A locked room run by `owner`: the host, two guests in it, one in the lobby. */
  async function busyRoom(owner: ClusterNode, others: ClusterNode[]) {
    const [b, c] = others as [ClusterNode, ClusterNode];
    const host = await hostUser(b, 'Hana');
    const { room_code: code } = await createRoom(owner, host, { name: 'Failover', settings: { max_participants: 50 } });
    expect((await meetings(owner)(host, 'POST', `/${code}/join`, {})).status).toBe(200);
    expect(await cluster!.ownerOf(code)).toBe(owner.id);
    const ann = await guestUser(c, 'Ann');
    const bob = await guestUser(c, 'Bob');
    for (const guest of [ann, bob]) expect((await meetings(c)(guest, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
    expect((await meetings(b)(host, 'PATCH', `/${code}/config`, { lock_room: true })).status).toBe(200);
    const gus = await guestUser(b, 'Gus');
    expect((await meetings(b)(gus, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');
    return { host, ann, bob, gus, code };
  }

  /** What must survive a failover: who is in, who waits, the settings, the speaker. */
  async function roomState(node: ClusterNode, host: Actor, code: string) {
    const view = await meetings(node)(host, 'GET', `/${code}/participants`);
    expect(view.status).toBe(200);
    const room = await meetings(node)(host, 'GET', `/${code}`);
    return {
      participants: (view.body.participants as { user_id: string; role: string }[]).map((p) => `${p.user_id}:${p.role}`).sort(),
      lobby: (view.body.lobby as { user_id: string }[]).map((w) => w.user_id),
      settings: room.body.settings,
      status: room.body.status,
      activeSpeaker: await cluster!.redis.get(liveStateKeys(cluster!.prefix, code).activeSpeaker),
    };
  }

  /** Sends a level every 50 ms until stopped, like a browser. */
  function speak(socket: ClientSocket, code: string, level: number): () => void {
    const timer = setInterval(() => socket.emit('audio:level', { room_code: code, level }), 50);
    return () => clearInterval(timer);
  }

  it('kill -9 of the owner during traffic: the next command succeeds within 3 s, nothing is lost, no caller sees an error', async () => {
    const [a, b, c] = await threeNodes();
    const { host, ann, bob, code } = await busyRoom(a, [b, c]);
    const hostSocket = await attached(b, host, code);
    const annSocket = await attached(c, ann, code);
    await attached(a, bob, code); // Bob's socket dies with node A.

    // Ann becomes the active speaker.
    const speaker = nextEvent(hostSocket, 'speaker:changed');
    const stop = speak(annSocket, code, -20);
    expect((await speaker).user_id).toBe(ann.userId);
    stop();
    const before = await roomState(b, host, code);
    expect(before.activeSpeaker).toBe(ann.userId);

    // Traffic from the surviving nodes, before and through the kill.
    let running = true;
    const failures: number[] = [];
    const traffic = [b, c].map(async (node) => {
      while (running) {
        const response = await meetings(node)(host, 'GET', `/${code}/participants`);
        if (response.status !== 200) failures.push(response.status);
      }
    });
    await new Promise((r) => setTimeout(r, 200));

    const killedAt = Date.now();
    a.process.kill('SIGKILL');
    const changed = await meetings(b)(host, 'PATCH', `/${code}/config`, { enable_transcription: true });
    const failoverMs = Date.now() - killedAt;
    running = false;
    await Promise.all(traffic);
    console.log(`[${setup}] kill -9 of the owner → first successful command: ${failoverMs} ms`);

    expect(changed.status).toBe(200);
    expect(failoverMs).toBeLessThanOrEqual(3000);
    expect(failures).toEqual([]);
    expect([b.id, c.id]).toContain(await cluster!.ownerOf(code));
    expect(await roomState(c, host, code)).toEqual({ ...before, settings: { ...before.settings, enable_transcription: true } });

    // The dead node's socket is detached: Bob is disconnected (inside his grace), not gone.
    await waitFor(async () => {
      const view = await meetings(c)(host, 'GET', `/${code}/participants`);
      return view.body.participants.find((p: { user_id: string }) => p.user_id === bob.userId)?.status === 'disconnected';
    });
    // The room still works for everyone: a fresh socket sees the speaker; events reach both nodes.
    const again = await connectSocket(c, host.token);
    expect((await request(again, 'room:attach', { room_code: code })).data.active_speaker).toBe(ann.userId);
    const heard = [hostSocket, annSocket].map((s) => nextEvent(s, 'room:updated'));
    expect((await meetings(c)(host, 'PATCH', `/${code}/config`, { enable_transcription: false })).status).toBe(200);
    await Promise.all(heard);
  });

  it('a paused owner loses the room, and once resumed cannot act on its stale copy', async () => {
    const [a, b, c] = await threeNodes();
    const { host, gus, code } = await busyRoom(a, [b, c]);

    a.process.kill('SIGSTOP');
    const pausedAt = Date.now();
    // While A sleeps, B takes the room over and changes it.
    const admitted = await meetings(b)(host, 'POST', `/${code}/admit/${gus.userId}`);
    const takeoverMs = Date.now() - pausedAt;
    console.log(`[${setup}] SIGSTOP of the owner → first successful command: ${takeoverMs} ms`);
    expect(admitted.status).toBe(200);
    expect(takeoverMs).toBeLessThanOrEqual(3000);
    const newOwner = await cluster!.ownerOf(code);
    expect(newOwner).toBe(b.id);
    const after = await roomState(b, host, code);
    expect(after.lobby).toEqual([]);

    // A wakes up still holding the room as it was. Asked through A, the room answers as B has it:
    // A dropped its copy when its lease ran out, and its writes would be refused anyway.
    a.process.kill('SIGCONT');
    // Until its Redis connections are back, A answers 503 UNAVAILABLE like any node cut off from
    // Redis (a loaded CI machine takes a moment); its first other answer must be the room as B has it.
    let first = await meetings(a)(host, 'GET', `/${code}/participants`);
    for (const deadline = Date.now() + 10_000; first.status === 503 && Date.now() < deadline;) first = await meetings(a)(host, 'GET', `/${code}/participants`);
    expect(first.status).toBe(200);
    expect((first.body.lobby as unknown[]).length).toBe(after.lobby.length);
    expect(await roomState(a, host, code)).toEqual(after);
    expect((await meetings(a)(host, 'PATCH', `/${code}/config`, { enable_transcription: true })).status).toBe(200);
    expect(await cluster!.ownerOf(code)).toBe(newOwner);
    expect((await roomState(c, host, code)).settings.enable_transcription).toBe(true);
    await waitFor(async () => a.logs.some((line) => line.includes('heartbeat lease ran out')));
  });

  it('SIGTERM: the owner hands its rooms off and drains its sockets; the next command succeeds within 1 s', async () => {
    const [a, b, c] = await threeNodes();
    const { host, ann, code } = await busyRoom(a, [b, c]);
    const hostSocket = await attached(a, host, code);
    const annSocket = await attached(c, ann, code);
    const before = await roomState(b, host, code);
    const drained = new Promise<string>((resolve) => hostSocket.once('disconnect', resolve));

    const stoppedAt = Date.now();
    a.process.kill('SIGTERM');
    const changed = await meetings(b)(host, 'PATCH', `/${code}/config`, { enable_transcription: true });
    const handOffMs = Date.now() - stoppedAt;
    console.log(`[${setup}] SIGTERM of the owner → first successful command: ${handOffMs} ms`);
    expect(changed.status).toBe(200);
    expect(handOffMs).toBeLessThanOrEqual(1000);

    expect(await drained).toBe('io server disconnect');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    console.log(`[${setup}] SIGTERM of the owner → process exited, rooms handed off: ${Date.now() - stoppedAt} ms`);
    expect(await roomState(c, host, code)).toEqual({ ...before, settings: { ...before.settings, enable_transcription: true } });
    expect([b.id, c.id]).toContain(await cluster!.ownerOf(code));

    // The host comes back through another node within the grace and is connected again.
    const back = nextEvent(annSocket, 'participant:updated', (p) => p.participant.user_id === host.userId && p.participant.status === 'connected');
    await attached(b, host, code);
    await back;
  });

  // Deadlines of rooms nobody runs go through Redis (the deadline index, the dead node's room
  // index), whichever adapter carries events: run on one Redis once, and on the Redis Cluster.
  if (adapter === 'redis' || redisCluster) {
    it.each(['SIGKILL', 'SIGTERM'] as const)(
      'after %s of the owner, a room nobody touches is taken over and runs its deadlines on another node',
      async (signal) => {
        const [a, b, c] = await threeNodes({ RECONNECT_GRACE_S: '2', EMPTY_ROOM_TIMEOUT_S: '1' });
        // The host's only socket is on the owner. When the node goes, so does the socket: the host
        // leaves once the grace runs out, and the empty room then ends by itself. Nobody sends the
        // room anything after the owner goes, and nothing of it is due before (the host is connected).
        const host = await hostUser(b, 'Hana');
        const { room_code: code } = await createRoom(a, host);
        expect((await meetings(a)(host, 'POST', `/${code}/join`, {})).status).toBe(200);
        expect(await cluster!.ownerOf(code)).toBe(a.id);
        await attached(a, host, code);
        a.process.kill(signal);
        await a.exited;

        // Watched in PostgreSQL: a REST read of the room would be a command to it.
        const db = new Client({ connectionString: testDatabaseUrl });
        await db.connect();
        const started = Date.now();
        try {
          await waitFor(async () => (await db.query('select status from rooms where room_code = $1', [code])).rows[0]?.status === 'ended', 15_000, 250);
        } finally {
          await db.end();
        }
        expect((await c.request('GET', `/api/v1/meetings/${code}`, { token: host.token })).body.status).toBe('ended');
        console.log(
          `[${setup}] ${signal} of the owner → an untouched room's deadlines ran elsewhere; it ended ${Date.now() - started} ms after the owner was gone`,
        );
      },
    );

    it('a room nobody started ends by itself (UNUSED_ROOM_TIMEOUT_S) even after the node that created it died', async () => {
      const [a, b] = await threeNodes({ UNUSED_ROOM_TIMEOUT_S: '3' });
      const host = await hostUser(b, 'Hana');
      const { room_code: code } = await createRoom(a, host);
      // Created on A, which holds it and writes its deadline, indexed; nobody ever joins. A dies before the deadline.
      const due = Number(await cluster!.redis.hget(liveStateKeys(cluster!.prefix, code).deadlines, 'unused_room'));
      expect(due).toBeGreaterThan(Date.now());
      expect(Number(await cluster!.redis.zscore(deadlineIndexKey(cluster!.prefix, code), code))).toBe(due);
      a.process.kill('SIGKILL');
      await a.exited;
      const db = new Client({ connectionString: testDatabaseUrl });
      await db.connect();
      try {
        await waitFor(async () => (await db.query('select status from rooms where room_code = $1', [code])).rows[0]?.status === 'ended', 20_000, 250);
        const { rows } = await db.query('select created_at, ended_at from rooms where room_code = $1', [code]);
        // Not before its deadline: three seconds after its creation.
        expect(new Date(rows[0].ended_at).getTime() - new Date(rows[0].created_at).getTime()).toBeGreaterThanOrEqual(3_000);
      } finally {
        await db.end();
      }
    });
  }
});
