import { createHmac } from 'node:crypto';
import { allocate, startTurnServer, type TurnServer } from '../support/turn';
import { createRoom, hostUser, meetings } from '../support/meetings';
import { startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket, request } from '../support/sockets';

/**
 * The TURN credentials a participant gets (docs/calls.md) against a real coturn with
 * `use-auth-secret`: it gives a relay for them, and refuses them from a server whose secret is
 * not its own, and once they have expired. (That a waiting user gets none is calls.test.ts's.)
 */
describe('TURN credentials, checked by coturn', () => {
  const secret = 'turn-test-shared-secret-0123456789';
  let turn: TurnServer;
  let server: TestServer;
  let stranger: TestServer;

  beforeAll(async () => {
    turn = await startTurnServer(secret);
    const urls = `turn:127.0.0.1:${turn.port}?transport=udp`;
    server = await startServer({ TURN_URLS: urls, TURN_SECRET: secret });
    stranger = await startServer({ TURN_URLS: urls, TURN_SECRET: 'another-secret-entirely-0123456789', TURN_TTL_S: '60' });
  }, 30_000);

  afterAll(async () => {
    closeSockets();
    await Promise.all([server?.close(), stranger?.close(), turn?.close()]);
  });

  /** The TURN entry of a participant's attach reply on `on`. */
  async function credentialsFrom(on: TestServer): Promise<{ username: string; credential: string }> {
    const host = await hostUser(on, 'Hana');
    const { room_code: code } = await createRoom(on, host);
    expect((await meetings(on)(host, 'POST', `/${code}/join`, {})).status).toBe(200);
    const socket = await connectSocket(on, host.token);
    const attach = await request(socket, 'room:attach', { room_code: code });
    return attach.data.ice_servers.at(-1);
  }

  it('gives a relay for the credentials the server minted, and none for a wrong secret or an expired username', async () => {
    const mine = await credentialsFrom(server);
    expect(await allocate(turn.port, mine.username, mine.credential)).toBe('allocated');
    const theirs = await credentialsFrom(stranger);
    expect(await allocate(turn.port, theirs.username, theirs.credential)).toBe(401);
    // The same user, signed right, an hour ago: expired.
    const [, userId] = mine.username.split(':');
    const expired = `${Math.floor(Date.now() / 1000) - 3600}:${userId}`;
    expect(await allocate(turn.port, expired, createHmac('sha1', secret).update(expired).digest('base64'))).toBe(401);
  });
});
