import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type ClusterNode, type TestCluster } from '../support/cluster';
import { createRoom, guestUser, hostUser, meetings, type Actor } from '../support/meetings';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis';
import { closeSockets, connectSocket, record, request, type ClientSocket } from '../support/sockets';

/**
 * Redis failing under a cluster (docs/scaling.md "When Redis is unreachable"): two nodes on a Redis of the
 * test's own, a room owned by each with a host and three guests whose sockets are spread over
 * both nodes, every socket reporting its hardware and every room read through both nodes all the
 * time. Redis is killed and started again empty, and paused and resumed; after each outage both
 * nodes are still running and every participant, connected the whole time, is still in their room.
 */
describe('a cluster across Redis outages', () => {
  let redis: PrivateRedis;
  let cluster: TestCluster;
  let a: ClusterNode, b: ClusterNode;
  const graceS = 3;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    cluster = await startCluster(2, { REDIS_URL: redis.url, RECONNECT_GRACE_S: String(graceS) });
    [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
  }, 60_000);

  afterAll(async () => {
    closeSockets();
    await cluster?.close();
    await redis?.close();
  });

  interface Member {
    actor: Actor;
    socket: ClientSocket;
  }
  interface Room {
    code: string;
    host: Actor;
    members: Member[];
    coHost: Actor;
    waiting: Member;
  }

  /**
   * A room created on `owner`, with its host and three guests in it, sockets alternating between
   * the nodes; the first guest is a co-host, and the room is locked with one more guest waiting:
   * what only the live state holds (the lobby, the co-host grant, the sockets) must survive too.
   */
  async function busyRoom(owner: ClusterNode, other: ClusterNode, name: string): Promise<Room> {
    const host = await hostUser(owner, `${name} host`);
    const { room_code: code } = await createRoom(owner, host, { name });
    expect((await meetings(owner)(host, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
    const actors = [host];
    for (let i = 0; i < 3; i++) {
      const guest = await guestUser(other, `${name} guest ${i}`);
      expect((await meetings(other)(guest, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
      actors.push(guest);
    }
    const members: Member[] = [];
    for (const [i, actor] of actors.entries()) {
      const socket = await connectSocket(i % 2 === 0 ? owner : other, actor.token);
      expect((await request(socket, 'room:attach', { room_code: code })).ok).toBe(true);
      members.push({ actor, socket });
    }
    const coHost = actors[1]!;
    expect((await meetings(owner)(host, 'POST', `/${code}/co-hosts/${coHost.userId}`)).status).toBe(200);
    expect((await meetings(owner)(host, 'PATCH', `/${code}/config`, { lock_room: true })).status).toBe(200);
    const late = await guestUser(other, `${name} late guest`);
    expect((await meetings(other)(late, 'POST', `/${code}/join`, {})).body.status).toBe('waiting');
    const lateSocket = await connectSocket(other, late.token);
    expect((await request(lateSocket, 'room:attach', { room_code: code })).ok).toBe(true);
    return { code, host, members, coHost, waiting: { actor: late, socket: lateSocket } };
  }

  /** Every socket reports its hardware and every room is read through both nodes, until stopped. */
  function keepBusy(rooms: Room[]): () => Promise<void> {
    let running = true;
    const loops = rooms.flatMap((room) => [
      ...[...room.members, room.waiting].map(async ({ socket }) => {
        while (running) {
          await request(socket, 'hardware:status', { room_code: room.code, hardware_ready: true }, 3000).catch(() => undefined);
          await sleep(300);
        }
      }),
      ...[a, b].map(async (node) => {
        while (running) {
          await meetings(node)(room.host, 'GET', `/${room.code}`).catch(() => undefined);
          await sleep(300);
        }
      }),
    ]);
    return async () => {
      running = false;
      await Promise.all(loops);
    };
  }

  /** Everyone is in the room, connected, with their role, and the lobby as it was, as the host reads it through either node. */
  async function expectEveryoneConnected(room: Room) {
    const roleOf = (actor: Actor) => (actor === room.host ? 'host' : actor === room.coHost ? 'co_host' : 'guest');
    for (const node of [a, b]) {
      const response = await meetings(node)(room.host, 'GET', `/${room.code}/participants`);
      expect(response.status).toBe(200);
      const seen = (response.body.participants as { user_id: string; status: string; role: string }[]).map((p) => [p.user_id, p.status, p.role]).sort();
      expect(seen).toEqual(room.members.map(({ actor }) => [actor.userId, 'connected', roleOf(actor)]).sort());
      expect((response.body.lobby as { user_id: string }[]).map((w) => w.user_id)).toEqual([room.waiting.actor.userId]);
    }
    for (const { socket } of room.members) {
      expect(await request(socket, 'hardware:status', { room_code: room.code, hardware_ready: false })).toEqual({ ok: true, data: { hardware_ready: false } });
    }
  }

  const expectNodesRunning = () => {
    for (const node of [a, b]) {
      expect(node.process.exitCode).toBeNull();
      expect(node.logs.filter((line) => line.includes('unhandled promise rejection'))).toEqual([]);
    }
  };

  // Three restarts and a pause; REDIS_RESTARTS=20 makes it a soak (docs/scaling.md "When Redis is unreachable").
  const restarts = Number(process.env.REDIS_RESTARTS ?? 3);
  const outages = ['pause' as const, ...Array.from({ length: restarts }, () => 'restart empty' as const)];

  it(
    'keeps both nodes running and every connected participant in their room through Redis restarts that lose everything, and a pause',
    async () => {
      const rooms = [await busyRoom(a, b, 'Room A'), await busyRoom(b, a, 'Room B')];
      const departures = rooms.flatMap((room) => room.members.map(({ socket }) => record(socket, 'participant:left')));
      const stop = keepBusy(rooms);
      try {
        for (const outage of outages) {
          if (outage === 'pause') redis.pause();
          else await redis.kill();
          await sleep(3000);
          if (outage === 'pause') redis.resume();
          else await redis.start();
          // Longer than the reconnect grace: a participant read as gone would have been removed by now.
          await sleep(graceS * 1000 + 3000);
          expectNodesRunning();
          for (const room of rooms) await expectEveryoneConnected(room);
          expect(departures.flat()).toEqual([]);
        }
      } finally {
        await stop();
      }
    },
    60_000 + outages.length * 15_000,
  );
});

/**
 * What a node does while its Redis is down (docs/scaling.md "When Redis is unreachable"): accounts,
 * history and creating meetings work on PostgreSQL alone; room commands answer 503, and work
 * again once Redis is back.
 */
describe('a cluster node while Redis is down', () => {
  let redis: PrivateRedis;
  let cluster: TestCluster;
  let node: ClusterNode;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    cluster = await startCluster(1, { REDIS_URL: redis.url });
    [node] = cluster.nodes as [ClusterNode];
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
    await redis?.close();
  });

  it('serves accounts, history and new meetings, answers room commands 503, and runs the new meeting once Redis is back', async () => {
    const host = await hostUser(node, 'Outage host');
    const { room_code: before } = await createRoom(node, host);
    expect((await meetings(node)(host, 'POST', `/${before}/join`, {})).status).toBe(200);
    await redis.kill();
    try {
      const created = await node.request('POST', '/api/v1/meetings', { token: host.token, body: { name: 'Made while Redis was down' } });
      expect(created.status).toBe(201);
      expect((await node.request('POST', '/api/v1/auth/guest', { body: { display_name: 'Outage guest' } })).status).toBe(201);
      expect((await meetings(node)(host, 'GET', '/history')).status).toBe(200);
      // A join writes the live state, so it needs Redis at once.
      const guest = await guestUser(node, 'Outage guest');
      const join = await meetings(node)(guest, 'POST', `/${before}/join`, {});
      expect([join.status, join.body.code]).toEqual([503, 'UNAVAILABLE']);
      // Once the node's lease on its rooms has run out (1.5 s), a mere read needs Redis too.
      await sleep(2000);
      const read = await meetings(node)(host, 'GET', `/${before}`);
      expect([read.status, read.body.code]).toEqual([503, 'UNAVAILABLE']);
      await redis.start();
      // Back: the meeting made meanwhile starts like any other, and the older one answers again.
      const joined = await eventually(() => meetings(node)(host, 'POST', `/${created.body.room_code}/join`, {}));
      expect(joined.body.status).toBe('joined');
      expect((await meetings(node)(host, 'GET', `/${before}`)).status).toBe(200);
      // The join answered 503 had reached PostgreSQL before Redis failed: it stands, and repeating it says so.
      expect((await meetings(node)(guest, 'POST', `/${before}/join`, {})).body.status).toBe('joined');
      const { participants } = (await meetings(node)(host, 'GET', `/${before}/participants`)).body as { participants: { user_id: string }[] };
      expect(participants.map((p) => p.user_id).sort()).toEqual([host.userId, guest.userId].sort());
    } finally {
      await redis.start().catch(() => undefined);
    }
    expect(node.process.exitCode).toBeNull();
  }, 60_000);
});

/** Repeats a request until it answers 200 (the node reconnects to Redis within about a second). */
async function eventually(send: () => Promise<{ status: number; body: any }>): Promise<{ status: number; body: any }> {
  for (let attempt = 0; ; attempt++) {
    const response = await send();
    if (response.status === 200 || attempt === 50) return response;
    await sleep(200);
  }
}
