import type { Browser } from 'playwright-core';
import type { SessionView } from '../../src/contract/schemas';
import { closeBrowsers, closeUserPages, launchBrowser, poll, type UserPage } from '../support/browser';
import {
  connectionStates,
  expectMediaFrom,
  gathering,
  iceErrors,
  joinFromPage,
  openCallPage,
  selectedCandidateTypes,
  type CallPageOptions,
} from '../support/call-page';
import { startCluster, type ClusterNode, type TestCluster } from '../support/cluster';
import { redisHash } from '../support/redis';
import { startHaproxy, type LoadBalancer } from '../support/haproxy';
import { createRoom, type Actor } from '../support/meetings';
import { registerUser, startServer, type Endpoint } from '../support/server';
import { startTurnServer, type TurnServer } from '../support/turn';

/**
 * Calls over the paths a deployment has, in real Chromium: two pages held by different nodes of a
 * cluster behind the shipped HAProxy configuration, and pages that may only use TURN relays,
 * through Debian's coturn checking the credentials the server minted.
 */

const stepTimeout = 120_000;
let browser: Browser;
const pages: UserPage[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
});
afterEach(async () => {
  expect(await closeUserPages(pages)).toEqual([]);
});
afterAll(async () => {
  await closeBrowsers();
});

const actorOf = (session: SessionView): Actor => ({ token: session.access_token, userId: session.user.id, name: session.user.display_name });
const guestSession = async (on: Endpoint, name: string) => (await on.request<SessionView>('POST', '/api/v1/auth/guest', { body: { display_name: name } })).body;

async function callPage(session: SessionView, label: string, options?: CallPageOptions): Promise<UserPage> {
  const user = await openCallPage(browser, session, label, options);
  pages.push(user);
  return user;
}

describe('two nodes behind the shipped HAProxy configuration', () => {
  let cluster: TestCluster;
  let lb: LoadBalancer;

  beforeAll(async () => {
    cluster = await startCluster(2);
    lb = await startHaproxy(cluster.nodes as [ClusterNode, ClusterNode]);
  }, 60_000);
  afterAll(async () => {
    await lb?.close();
    await cluster?.close();
  });

  test(
    'two people whose pages are held by different nodes see and hear each other',
    async () => {
      const hostSession = await registerUser(lb, { display_name: 'Nia Node-one' });
      const guest = await guestSession(lb, 'Teo Node-two');
      const room = await createRoom(lb, actorOf(hostSession), { name: 'Across nodes', settings: { lock_room: false } });
      const host = await callPage(hostSession, 'host');
      const other = await callPage(guest, 'guest');
      // The load balancer's cookie, as its first answer would have set it: one page on each node.
      const lbHost = new URL(lb.url).hostname;
      await host.context.addCookies([{ name: 'MRNODE', value: 'node1', domain: lbHost, path: '/' }]);
      await other.context.addCookies([{ name: 'MRNODE', value: 'node2', domain: lbHost, path: '/' }]);
      await joinFromPage(host.page, lb.url, room.room_code, 'room');
      await joinFromPage(other.page, lb.url, room.room_code, 'room');

      // The room records each socket with the node holding it.
      const connections = await redisHash(`${cluster.prefix}room:{${room.room_code}}:connections`);
      const holders = (userId: string) => (JSON.parse(connections[userId] ?? '[]') as string[]).map((id) => id.split('#')[0]);
      expect({ host: holders(hostSession.user.id), guest: holders(guest.user.id) }).toEqual({ host: [cluster.nodes[0]!.id], guest: [cluster.nodes[1]!.id] });

      const both = [host.page, other.page];
      await expectMediaFrom(host.page, guest.user.id, 'node 1 receiving node 2', both);
      await expectMediaFrom(other.page, hostSession.user.id, 'node 2 receiving node 1', both);
    },
    stepTimeout,
  );
});

describe('pages that may only use TURN relays, through coturn', () => {
  const secret = 'turn-browser-shared-secret-0123456789';
  let turn: TurnServer;

  beforeAll(async () => {
    turn = await startTurnServer(secret, { allowLoopbackPeers: true });
  }, 30_000);
  afterAll(async () => {
    await turn?.close();
  });

  /** Two people on a server with these TURN settings, both forced to relay-only, in one call. */
  async function relayedCall(turnSecret: string) {
    const server = await startServer({ TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp`, TURN_SECRET: turnSecret });
    const hostSession = await registerUser(server, { display_name: 'Rita Relay' });
    const guest = await guestSession(server, 'Ravi Relay');
    const room = await createRoom(server, actorOf(hostSession), { name: 'Relayed', settings: { lock_room: false } });
    const host = await callPage(hostSession, 'host', { relayOnly: true });
    const other = await callPage(guest, 'guest', { relayOnly: true });
    await joinFromPage(host.page, server.url, room.room_code, 'room');
    await joinFromPage(other.page, server.url, room.room_code, 'room');
    return { server, host, other, hostId: hostSession.user.id, guestId: guest.user.id };
  }

  test(
    'connect through the relay with the credentials the server issued',
    async () => {
      const { server, host, other, hostId, guestId } = await relayedCall(secret);
      try {
        const both = [host.page, other.page];
        await expectMediaFrom(host.page, guestId, 'the host receiving through the relay', both);
        await expectMediaFrom(other.page, hostId, 'the guest receiving through the relay', both);
        for (const page of both) expect(await selectedCandidateTypes(page)).toEqual([{ local: 'relay', remote: 'relay' }]);
      } finally {
        await server.close();
      }
    },
    stepTimeout,
  );

  test(
    'get no connection when the server signs with a secret coturn does not know',
    async () => {
      const { server, host, other } = await relayedCall('not-the-turn-secret-0123456789abcdef');
      try {
        // Both pages make their connection and gather candidates; coturn refuses the allocation
        // (401) and a relay-only page has no other candidate, so the call never connects.
        for (const page of [host.page, other.page]) {
          await poll(
            'candidate gathering over',
            () => gathering(page),
            (states) => states.length === 1 && states[0]!.state === 'complete',
            { timeoutMs: 20_000 },
          );
          expect(await gathering(page)).toEqual([{ state: 'complete', candidates: 0 }]);
          expect((await iceErrors(page)).map((error) => error.errorCode)).toContain(401);
        }
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        for (const page of [host.page, other.page]) expect(await connectionStates(page)).not.toContain('connected');
      } finally {
        await server.close();
      }
    },
    stepTimeout,
  );
});
