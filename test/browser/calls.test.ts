import type { Browser, Page } from 'playwright-core';
import type { SessionView } from '../../src/contract/schemas';
import {
  closeBrowsers,
  closeUserPages,
  launchBrowser,
  makeTempDir,
  poll,
  screenOf,
  screenshot,
  waitForScreen,
  writeSilenceWav,
  writeToneWav,
  type UserPage,
} from '../support/browser';
import { connectionStates, expectMediaFrom as expectMedia, joinFromPage, openCallPage, received, tileOf } from '../support/call-page';
import { userChannel } from '../../src/realtime/channels';
import { createRoom, meetings, type Actor } from '../support/meetings';
import { registerUser, startServer, type TestServer } from '../support/server';

/**
 * Calls on the meeting page in real Chromium against a real server: each person's page connects
 * to each other's (a mesh of RTCPeerConnections, signaled through the room) and shows their camera
 * and plays their sound, for every pair (test/support/call-page.ts says how media is proven).
 * Screenshots go to SCREENSHOT_DIR (default test-results/screenshots).
 */

const stepTimeout = 120_000;

describe('calls on the meeting page', () => {
  let server: TestServer;
  let api: ReturnType<typeof meetings>;
  let toneBrowser: Browser;
  let quietBrowser: Browser;
  const pages: UserPage[] = [];

  beforeAll(async () => {
    server = await startServer();
    api = meetings(server);
    const dir = await makeTempDir('calls');
    [toneBrowser, quietBrowser] = await Promise.all([
      launchBrowser({ audioWav: await writeToneWav(dir) }),
      launchBrowser({ audioWav: await writeSilenceWav(dir) }),
    ]);
  });
  afterEach(async () => {
    expect(await closeUserPages(pages)).toEqual([]);
  });
  afterAll(async () => {
    await closeBrowsers();
    await server?.close();
  });

  const actorOf = (session: SessionView): Actor => ({ token: session.access_token, userId: session.user.id, name: session.user.display_name });
  const guestSession = async (name: string) => (await server.request<SessionView>('POST', '/api/v1/auth/guest', { body: { display_name: name } })).body;

  /** A signed-in person's page, with its peer connections recorded, closed after the test. */
  async function personPage(browser: Browser, session: SessionView, label: string): Promise<UserPage> {
    const user = await openCallPage(browser, session, label);
    pages.push(user);
    return user;
  }

  const join = (page: Page, roomCode: string, screen: 'room' | 'waiting') => joinFromPage(page, server.url, roomCode, screen);
  const expectMediaFrom = (page: Page, from: string, what: string) =>
    expectMedia(
      page,
      from,
      what,
      pages.map((user) => user.page),
    );

  test(
    "three people in one room each see and hear the other two; the microphone and camera switches and a host's mute request show on everyone's page",
    async () => {
      const hostSession = await registerUser(server, { display_name: 'Hana Host' });
      const host = actorOf(hostSession);
      const room = await createRoom(server, host, { name: 'Three-way call', settings: { lock_room: false } });
      const sessions = [hostSession, await guestSession('Ada Guest'), await guestSession('Bo Guest')];
      // The host talks (the tone): they are the active speaker in the screenshot.
      const people = await Promise.all(sessions.map((session, i) => personPage(i === 0 ? toneBrowser : quietBrowser, session, session.user.display_name)));
      for (const person of people) await join(person.page, room.room_code, 'room');

      for (const [i, person] of people.entries()) {
        for (const [j, other] of sessions.entries()) {
          if (i !== j) await expectMediaFrom(person.page, other.user.id, `${sessions[i]!.user.display_name} receiving ${other.user.display_name}`);
        }
        // Two calls each, no more: nobody renegotiated into a second connection with the same person.
        expect((await connectionStates(person.page)).filter((state) => state === 'connected')).toHaveLength(2);
      }
      await poll(
        "the host's tile highlighted as speaking",
        () => tileOf(people[0]!.page, host.userId).getAttribute('data-speaking'),
        (value) => value === 'true',
      );

      // docs/screenshots/call-three.png with SCREENSHOT_DIR=docs/screenshots, as the page's other screens.
      await screenshot(people[1]!.page, 'call-three');

      // Switches: Ada turns her microphone and camera off; the others see it (media:state), and her tile shows her initials.
      const [hostPage, adaPage, boPage] = people.map((person) => person.page) as [Page, Page, Page];
      const ada = sessions[1]!.user.id;
      const bo = sessions[2]!.user.id;
      await screenOf(adaPage, 'room').getByRole('button', { name: 'Mute', exact: true }).click();
      await screenOf(adaPage, 'room').getByRole('button', { name: 'Stop camera', exact: true }).click();
      for (const page of [hostPage, boPage]) {
        await tileOf(page, ada).locator('[data-muted]').waitFor({ state: 'visible' });
        await tileOf(page, ada).locator('[data-camera-off]').waitFor({ state: 'visible' });
        await tileOf(page, ada).locator('.avatar').waitFor({ state: 'visible' });
      }
      await screenshot(hostPage, 'call-muted');
      await screenOf(adaPage, 'room').getByRole('button', { name: 'Unmute', exact: true }).click();
      await poll(
        "Ada's Muted badge gone",
        () => tileOf(hostPage, ada).locator('[data-muted]').count(),
        (count) => count === 0,
      );

      // The host asks Bo to mute: Bo's page turns the microphone off and says so; everyone sees him muted.
      await tileOf(hostPage, bo).getByRole('button', { name: 'Ask to mute', exact: true }).click();
      await screenOf(boPage, 'room').getByRole('button', { name: 'Unmute', exact: true }).waitFor({ state: 'visible' });
      await boPage.getByRole('status').filter({ hasText: 'The host muted your microphone' }).waitFor({ state: 'visible' });
      await tileOf(adaPage, bo).locator('[data-muted]').waitFor({ state: 'visible' });
      expect(
        await boPage.evaluate(
          'window.__pcs.flatMap((pc) => pc.getSenders()).filter((s) => s.track && s.track.kind === "audio").every((s) => !s.track.enabled)',
        ),
      ).toBe(true);
    },
    stepTimeout,
  );

  test(
    'a guest waiting in a locked room gets no offer and no media until admitted; then media flows both ways; removed, their calls close on both sides',
    async () => {
      const hostSession = await registerUser(server, { display_name: 'Lou Host' });
      const host = actorOf(hostSession);
      const room = await createRoom(server, host, { name: 'Locked call', settings: { lock_room: true } });
      const guest = await guestSession('Wes Waiting');
      const other = await guestSession('Oli Other');
      const hostPage = await personPage(toneBrowser, hostSession, 'host');
      const guestPage = await personPage(quietBrowser, guest, 'guest');
      const otherPage = await personPage(quietBrowser, other, 'other');
      await join(hostPage.page, room.room_code, 'room');

      // The guest waits; nothing of the call reaches them (signals on the wire, connections in the page).
      const signalsToGuest: string[] = [];
      guestPage.page.on('websocket', (socket) =>
        socket.on('framereceived', ({ payload }) => String(payload).includes('rtc:') && signalsToGuest.push(String(payload).slice(0, 80))),
      );
      await join(guestPage.page, room.room_code, 'waiting');
      const entry = screenOf(hostPage.page, 'room').locator(`[data-lobby-entry][data-user-id="${guest.user.id}"]`);
      await entry.waitFor({ state: 'visible' });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(signalsToGuest).toEqual([]);
      expect(await connectionStates(guestPage.page)).toEqual([]);

      // Admitted: the first remote frame, measured from the click.
      const admittedAt = Date.now();
      await entry.getByRole('button', { name: 'Admit', exact: true }).click();
      await waitForScreen(guestPage.page, 'room');
      await poll(
        'the first frame of the host on the guest page',
        () => received(guestPage.page, host.userId),
        (seen) => seen.videoWidth > 0,
        { timeoutMs: 30_000, intervalMs: 20 },
      );
      console.log(`admission to the first remote video frame: ${Date.now() - admittedAt} ms`);
      expect(signalsToGuest.length).toBeGreaterThan(0);
      await expectMediaFrom(guestPage.page, host.userId, 'the admitted guest receiving the host');
      await expectMediaFrom(hostPage.page, guest.user.id, 'the host receiving the admitted guest');

      // A third person, so the removal shows which calls close and which stay.
      await api(host, 'PATCH', `/${room.room_code}/config`, { lock_room: false });
      await join(otherPage.page, room.room_code, 'room');
      const hostFromGuest = await expectMediaFrom(hostPage.page, guest.user.id, 'the host receiving the guest');
      const hostFromOther = await expectMediaFrom(hostPage.page, other.user.id, 'the host receiving the other guest');
      const otherFromGuest = await expectMediaFrom(otherPage.page, guest.user.id, 'the other guest receiving the guest');
      await expectMediaFrom(guestPage.page, other.user.id, 'the guest receiving the other guest');

      // Removed: every connection of the removed guest closes, on their page and on the others'; the others' call goes on.
      await tileOf(hostPage.page, guest.user.id).getByRole('button', { name: 'Remove', exact: true }).click();
      await waitForScreen(guestPage.page, 'removed');
      await poll(
        "the removed guest's connections closed on their page",
        () => connectionStates(guestPage.page),
        (states) => states.length > 0 && states.every((state) => state === 'closed'),
      );
      const stateOf = (page: Page, index: number) => connectionStates(page).then((states) => states[index]);
      await poll(
        "the host's connection with the removed guest closed",
        () => stateOf(hostPage.page, hostFromGuest.pc),
        (state) => state === 'closed',
      );
      await poll(
        "the other guest's connection with the removed guest closed",
        () => stateOf(otherPage.page, otherFromGuest.pc),
        (state) => state === 'closed',
      );
      expect(await stateOf(hostPage.page, hostFromOther.pc)).toBe('connected');
      await expectMediaFrom(hostPage.page, other.user.id, 'the host still receiving the other guest');
      await expectMediaFrom(otherPage.page, host.userId, 'the other guest still receiving the host');
    },
    stepTimeout,
  );

  test(
    'past MESH_MAX_PARTICIPANTS the first who joined keep their call, the later ones get none, and every page says so',
    async () => {
      const small = await startServer({ MESH_MAX_PARTICIPANTS: '2' });
      try {
        const hostSession = await registerUser(small, { display_name: 'Max Host' });
        const room = await createRoom(small, actorOf(hostSession), { name: 'Small call', settings: { lock_room: false } });
        const guest = async (name: string) => (await small.request<SessionView>('POST', '/api/v1/auth/guest', { body: { display_name: name } })).body;
        const sessions = [hostSession, await guest('Fay First'), await guest('Lee Late')];
        const [hostPage, firstPage, latePage] = (
          await Promise.all(sessions.map((session) => personPage(quietBrowser, session, session.user.display_name)))
        ).map((user) => user.page) as [Page, Page, Page];
        const joinSmall = (page: Page) => joinFromPage(page, small.url, room.room_code, 'room');
        await joinSmall(hostPage);
        await joinSmall(firstPage);
        await expectMediaFrom(hostPage, sessions[1]!.user.id, 'the host receiving the first guest');
        await joinSmall(latePage);

        const note = (page: Page) => screenOf(page, 'room').locator('[data-call-full]');
        await poll(
          'the late guest told the call is full',
          () => note(latePage).textContent(),
          (text) => /This call is full: it takes 2 people and 3 are here/.test(text ?? ''),
        );
        for (const page of [hostPage, firstPage])
          await poll(
            'the first two told who is in the call',
            () => note(page).textContent(),
            (text) => /3 people are here; a call takes 2/.test(text ?? ''),
          );
        await screenshot(latePage, 'call-mesh-limit');
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        expect(await connectionStates(latePage)).toEqual([]);
        expect(await connectionStates(hostPage)).toEqual(['connected']);
        expect(await connectionStates(firstPage)).toEqual(['connected']);
        expect(await screenOf(hostPage, 'room').locator(`[data-tile][data-user-id="${sessions[2]!.user.id}"] video[data-remote]`).count()).toBe(0);
      } finally {
        await small.close();
      }
    },
    stepTimeout,
  );

  test(
    'the same person opening the meeting in a second tab moves their call there; the first tab stops and can take it back',
    async () => {
      const hostSession = await registerUser(server, { display_name: 'Tom Host' });
      const host = actorOf(hostSession);
      const room = await createRoom(server, host, { name: 'Two tabs', settings: { lock_room: false } });
      const guest = await guestSession('Tia Tabs');
      const hostPage = (await personPage(toneBrowser, hostSession, 'host')).page;
      const firstTab = (await personPage(quietBrowser, guest, 'first tab')).page;
      await join(hostPage, room.room_code, 'room');
      await join(firstTab, room.room_code, 'room');
      const before = await expectMediaFrom(hostPage, guest.user.id, 'the host receiving the first tab');

      // The second tab (another context, the same session) joins: the first tab is told, and its call closes.
      const secondTab = (await personPage(quietBrowser, guest, 'second tab')).page;
      await join(secondTab, room.room_code, 'room');
      await waitForScreen(firstTab, 'superseded');
      await poll(
        "the first tab's connection closed",
        () => connectionStates(firstTab),
        (states) => states.length > 0 && states.every((state) => state === 'closed'),
      );
      // The host's page replaces its connection with that user (the new tab's offer has another DTLS
      // fingerprint): within 3 s when the new tab is the polite side, which waits for an offer first.
      await poll(
        "the host's page on a new connection with that user",
        () => received(hostPage, guest.user.id),
        (seen) => seen.pc !== before.pc,
      );
      const after = await expectMediaFrom(hostPage, guest.user.id, 'the host receiving the second tab');
      expect(after.pc).not.toBe(before.pc);
      await poll(
        "the host's old connection with the first tab closed",
        () => connectionStates(hostPage).then((states) => states[before.pc]),
        (state) => state === 'closed',
      );
      await expectMediaFrom(secondTab, host.userId, 'the second tab receiving the host');

      // "Use this tab instead": the call comes back to the first tab, and the second one stops.
      await screenOf(firstTab, 'superseded').getByRole('button', { name: 'Use this tab instead', exact: true }).click();
      await waitForScreen(firstTab, 'room');
      await waitForScreen(secondTab, 'superseded');
      await poll(
        "the host's page on a third connection with that user",
        () => received(hostPage, guest.user.id),
        (seen) => seen.pc !== after.pc,
      );
      const back = await expectMediaFrom(hostPage, guest.user.id, 'the host receiving the first tab again');
      expect(back.pc).not.toBe(after.pc);
      await expectMediaFrom(firstTab, host.userId, 'the first tab receiving the host again');
    },
    stepTimeout,
  );

  test(
    "after a page's socket drops and comes back (recovered, or attached again), its side restarts ICE on the same connection and media keeps flowing",
    async () => {
      const hostSession = await registerUser(server, { display_name: 'Rae Host' });
      const room = await createRoom(server, actorOf(hostSession), { name: 'Reconnect', settings: { lock_room: false } });
      const guest = await guestSession('Gil Guest');
      // The impolite side (the larger user id) restarts ICE after its reconnect: cut that one's socket.
      const [politeSession, impoliteSession] = [hostSession, guest].sort((a, b) => a.user.id.localeCompare(b.user.id)) as [SessionView, SessionView];
      const politePage = (await personPage(quietBrowser, politeSession, 'polite')).page;
      const impolite = await personPage(quietBrowser, impoliteSession, 'impolite');
      const sockets: { close(): Promise<void> }[] = [];
      await impolite.page.routeWebSocket(/\/socket\.io\//, (socket) => {
        socket.connectToServer();
        sockets.push(socket);
      });
      // The host first (a room starts when its host comes).
      for (const page of politeSession === hostSession ? [politePage, impolite.page] : [impolite.page, politePage]) await join(page, room.room_code, 'room');
      const before = await expectMediaFrom(politePage, impoliteSession.user.id, 'the polite side receiving');
      const ufrag = () =>
        impolite.page.evaluate('window.__pcs.map((pc) => /a=ice-ufrag:(\\S+)/.exec(pc.localDescription ? pc.localDescription.sdp : "")?.[1])') as Promise<
          string[]
        >;
      const [ufragBefore] = await ufrag();

      await Promise.all(sockets.map((socket) => socket.close()));
      // Reconnected (the banner comes and goes), then a new offer with new ICE credentials on the same connection.
      await poll('the new ICE credentials', ufrag, (ufrags) => ufrags.length === 1 && ufrags[0] !== ufragBefore, { timeoutMs: 20_000 });
      const after = await expectMediaFrom(politePage, impoliteSession.user.id, 'the polite side receiving after the restart');
      expect(after.pc).toBe(before.pc);
      await expectMediaFrom(impolite.page, politeSession.user.id, 'the restarted side receiving');
      expect(await connectionStates(impolite.page)).toEqual(['connected']);

      // Cut from the server's side ("io server disconnect": never recovered): the page attaches again
      // (fresh ICE servers from the answer) and restarts ICE once more, still on the same connection.
      const [ufragRecovered] = await ufrag();
      await server.app.io.in(userChannel(impoliteSession.user.id)).disconnectSockets(true);
      await poll('new ICE credentials after the re-attach', ufrag, (ufrags) => ufrags.length === 1 && ufrags[0] !== ufragRecovered, { timeoutMs: 20_000 });
      expect((await expectMediaFrom(politePage, impoliteSession.user.id, 'the polite side receiving after the re-attach')).pc).toBe(before.pc);
      await expectMediaFrom(impolite.page, politeSession.user.id, 'the re-attached side receiving');
    },
    stepTimeout,
  );
});
