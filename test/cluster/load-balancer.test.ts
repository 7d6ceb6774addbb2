import { io as connectClient } from 'socket.io-client';
import { startCluster, type ClusterNode, type TestCluster } from '../support/cluster';
import { startHaproxy, type LoadBalancer } from '../support/haproxy';
import { redisHash } from '../support/redis';
import { createRoom, guestUser, hostUser, meetings, type Actor } from '../support/meetings';
import { nextEvent, request, type ClientSocket } from '../support/sockets';

/**
 * The shipped HAProxy configuration (deploy/haproxy.cfg) in front of two nodes, with clients on
 * Socket.IO's default transports: long-polling first, then the upgrade to WebSocket, which only
 * works when every request of a session reaches the same node.
 */
describe.each(['redis', 'redis-streams', 'redis-sharded'])('two nodes behind the shipped HAProxy configuration (%s adapter)', (adapter) => {
  let cluster: TestCluster;
  let lb: LoadBalancer;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    cluster = await startCluster(2, { SOCKET_ADAPTER: adapter });
    lb = await startHaproxy(cluster.nodes as [ClusterNode, ClusterNode]);
  }, 60_000);

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await lb?.close();
    await cluster?.close();
  });

  /** A client as a browser would open it: default transports, cookies kept. */
  async function connectThroughLb(actor: Actor): Promise<{ socket: ClientSocket; firstTransport: string; upgraded: Promise<string> }> {
    const socket: ClientSocket = connectClient(lb.url, { auth: { token: actor.token }, withCredentials: true, reconnection: false, forceNew: true });
    sockets.push(socket);
    const firstTransport = socket.io.engine.transport.name;
    const upgraded = new Promise<string>((resolveUpgrade) => socket.io.engine.once('upgrade', (transport: { name: string }) => resolveUpgrade(transport.name)));
    await new Promise<void>((resolveConnect, reject) => {
      socket.once('connect', () => resolveConnect());
      socket.once('connect_error', reject);
    });
    return { socket, firstTransport, upgraded };
  }

  const openSockets = async (node: ClusterNode) => {
    const metrics = (await node.request('GET', '/metrics')).body as string;
    return Number(/^socketio_connected_sockets\{.*\} (\d+)$/m.exec(metrics)?.[1]);
  };

  it('clients start on long-polling, upgrade to WebSocket on the same node, and hear the room from either node', async () => {
    const host = await hostUser(lb, 'Hana');
    const { room_code: code } = await createRoom(lb, host);
    expect((await meetings(lb)(host, 'POST', `/${code}/join`, {})).status).toBe(200);
    const guests = await Promise.all(['Ann', 'Bob', 'Cy', 'Di', 'Ed'].map((name) => guestUser(lb, name)));
    for (const guest of guests) expect((await meetings(lb)(guest, 'POST', `/${code}/join`, {})).body.status).toBe('joined');

    const clients = [];
    for (const actor of [host, ...guests]) {
      const { socket, firstTransport, upgraded } = await connectThroughLb(actor);
      // Opened on long-polling; the upgrade only succeeds on the node that holds the session.
      expect(firstTransport).toBe('polling');
      expect(await upgraded).toBe('websocket');
      expect((await request(socket, 'room:attach', { room_code: code })).ok).toBe(true);
      clients.push(socket);
    }
    // Round-robin spread the sessions over both nodes.
    for (const node of cluster.nodes) expect(await openSockets(node)).toBeGreaterThan(0);

    const heard = clients.map((socket) => nextEvent(socket, 'room:updated'));
    expect((await meetings(lb)(host, 'PATCH', `/${code}/config`, { enable_transcription: true })).status).toBe(200);
    await Promise.all(heard);
    expect(clients.every((socket) => socket.connected)).toBe(true);
  });
});

describe.each(['redis', 'redis-streams'])('WEB_CONCURRENCY=2: two worker nodes sharing one port through @socket.io/sticky (%s adapter)', (adapter) => {
  let cluster: TestCluster;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    cluster = await startCluster(1, { WEB_CONCURRENCY: '2', SOCKET_ADAPTER: adapter });
  }, 60_000);

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await cluster?.close();
  });

  it('each session stays on its worker through the upgrade; the workers are cluster nodes sharing the room', async () => {
    const [primary] = cluster.nodes as [ClusterNode];
    const host = await hostUser(primary, 'Hana');
    const { room_code: code } = await createRoom(primary, host);
    expect((await meetings(primary)(host, 'POST', `/${code}/join`, {})).status).toBe(200);
    const guests = await Promise.all(['Ann', 'Bob', 'Cy'].map((name) => guestUser(primary, name)));
    for (const guest of guests) expect((await meetings(primary)(guest, 'POST', `/${code}/join`, {})).body.status).toBe('joined');

    const clients: ClientSocket[] = [];
    for (const actor of [host, ...guests]) {
      // Default transports and no cookies: sticky routes on the session id in the query string.
      const socket: ClientSocket = connectClient(primary.url, { auth: { token: actor.token }, reconnection: false, forceNew: true });
      sockets.push(socket);
      const upgraded = new Promise<string>((resolveUpgrade) => socket.io.engine.once('upgrade', (t: { name: string }) => resolveUpgrade(t.name)));
      await new Promise<void>((resolveConnect, reject) => {
        socket.once('connect', () => resolveConnect());
        socket.once('connect_error', reject);
      });
      expect(await upgraded).toBe('websocket');
      expect((await request(socket, 'room:attach', { room_code: code })).ok).toBe(true);
      clients.push(socket);
    }

    // The room records each socket with the node holding it: both workers hold some.
    const connections = await redisHash(`${cluster.prefix}room:{${code}}:connections`);
    const holders = new Set(Object.values(connections).flatMap((ids) => (JSON.parse(ids) as string[]).map((id) => id.split('#')[0]!)));
    expect([...holders].map((id) => id.replace(/-w\d+\.\d+$/, ''))).toEqual([primary.id, primary.id]);

    const heard = clients.map((socket) => nextEvent(socket, 'room:updated'));
    expect((await meetings(primary)(host, 'PATCH', `/${code}/config`, { enable_transcription: true })).status).toBe(200);
    await Promise.all(heard);
  });
});
