import { io as connectClient } from 'socket.io-client';
import { startCluster, type ClusterNode, type TestCluster } from '../support/cluster';
import { createRoom, guestUser, hostUser, meetings } from '../support/meetings';
import { closeSockets, connectSocket, nextEvent, record, request, type ClientSocket } from '../support/sockets';

// Connection-state recovery with the Redis streams adapter (docs/architecture.md): a client whose
// connection drops for a moment gets back its socket and the events it missed.
describe('redis-streams adapter: a client that blips back misses nothing', () => {
  let cluster: TestCluster;
  let a: ClusterNode, b: ClusterNode;

  beforeAll(async () => {
    cluster = await startCluster(2, { SOCKET_ADAPTER: 'redis-streams' });
    [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
  }, 60_000);

  afterAll(async () => {
    closeSockets();
    await cluster?.close();
  });

  it('an event emitted during a short disconnect is delivered on reconnection, and the socket is attached again', async () => {
    const host = await hostUser(a, 'Hana');
    const { room_code: code } = await createRoom(a, host);
    expect((await meetings(a)(host, 'POST', `/${code}/join`, {})).status).toBe(200);
    const ann = await guestUser(b, 'Ann');
    expect((await meetings(b)(ann, 'POST', `/${code}/join`, {})).body.status).toBe('joined');
    const hostSocket = await connectSocket(a, host.token);
    expect((await request(hostSocket, 'room:attach', { room_code: code })).ok).toBe(true);

    // Ann's client reconnects by itself, one second after losing its connection.
    const annSocket: ClientSocket = connectClient(b.url, {
      auth: { token: ann.token },
      transports: ['websocket'],
      reconnectionDelay: 1000,
      randomizationFactor: 0,
      forceNew: true,
    });
    await new Promise((resolve) => annSocket.once('connect', () => resolve(undefined)));
    expect((await request(annSocket, 'room:attach', { room_code: code })).ok).toBe(true);
    const firstId = annSocket.id;
    // A client resumes from the last broadcast it received (Socket.IO sends its offset back on
    // reconnection), so Ann hears one before the blip.
    const first = nextEvent(annSocket, 'room:updated');
    expect((await meetings(a)(host, 'PATCH', `/${code}/config`, { max_participants: 50 })).status).toBe(200);
    await first;
    const updates = record(annSocket, 'room:updated');

    try {
      // The connection drops; the room sees Ann go, and the host changes a setting meanwhile.
      const gone = nextEvent(hostSocket, 'participant:updated', (p) => p.participant.user_id === ann.userId && p.participant.status === 'disconnected');
      annSocket.io.engine.close();
      await gone;
      expect(annSocket.connected).toBe(false);
      const patched = await meetings(a)(host, 'PATCH', `/${code}/config`, { enable_transcription: true });
      expect(patched.status).toBe(200);

      // Back within the window: same socket, the missed event replayed, attached to the room again.
      const back = nextEvent(hostSocket, 'participant:updated', (p) => p.participant.user_id === ann.userId && p.participant.status === 'connected');
      await new Promise((resolve) => annSocket.once('connect', () => resolve(undefined)));
      expect(annSocket.recovered).toBe(true);
      expect(annSocket.id).toBe(firstId);
      await back;
      expect(updates).toEqual([{ room_code: code, settings: patched.body.settings, status: 'active', scheduled_start_at: null, scheduled_end_at: null }]);

      // And it keeps hearing the room as before.
      const next = nextEvent(annSocket, 'room:updated');
      expect((await meetings(a)(host, 'PATCH', `/${code}/config`, { enable_transcription: false })).status).toBe(200);
      await next;
    } finally {
      annSocket.close();
    }
  });
});
