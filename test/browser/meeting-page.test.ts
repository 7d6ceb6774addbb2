import type { Browser, Locator, Page } from 'playwright-core';
import {
  closeBrowsers,
  closeUserPages,
  describePage,
  holdMediaRequests,
  launchBrowser,
  makeTempDir,
  openUserPage,
  poll,
  screenOf,
  screenshot,
  waitForScreen,
  waitForVisible,
  writeSilenceWav,
  writeToneWav,
  type UserPage,
} from '../support/browser';
import { createRoom, guestUser, hostUser, meetings } from '../support/meetings';
import { registerUser, startServer, uniqueEmail, type TestServer } from '../support/server';

/**
 * The meeting page (`GET /`, `GET /join/{room_code}`, src/web/) in real Chromium, against a real
 * server: people sign in, create, wait, get admitted or rejected, speak and end meetings through
 * the page itself. Each browser context is one user here (sessions live in sessionStorage, per tab). Fake
 * media: hosts and listeners hear silence, the speaking guest's microphone plays a 440 Hz tone.
 * Screenshots of each screen go to SCREENSHOT_DIR (default test-results/screenshots).
 */

const stepTimeout = 90_000;
const password = 'correct horse battery';
const roomCodeUrl = /\/join\/([A-Za-z0-9_-]{12})$/;

describe('the meeting page in Chromium', () => {
  let server: TestServer;
  let api: ReturnType<typeof meetings>;
  /** Hosts, listeners: silent microphones. */
  let quietBrowser: Browser;
  /** The speaking guest: a tone. */
  let toneBrowser: Browser;
  const pages: UserPage[] = [];

  beforeAll(async () => {
    // The defaults hold: a reload rejoins well within RECONNECT_GRACE_S (30 s), and the page is
    // opened at the server's own URL (PUBLIC_BASE_URL only makes the invite link's text).
    server = await startServer();
    api = meetings(server);
    const dir = await makeTempDir('page');
    [quietBrowser, toneBrowser] = await Promise.all([
      launchBrowser({ audioWav: await writeSilenceWav(dir) }),
      launchBrowser({ audioWav: await writeToneWav(dir) }),
    ]);
  });
  afterEach(async () => {
    // An uncaught exception or unhandled rejection in the page is a bug even if every step passed.
    expect(await closeUserPages(pages)).toEqual([]);
  });
  afterAll(async () => {
    await closeBrowsers();
    await server?.close();
  });

  async function userPage(browser: Browser, label: string): Promise<UserPage> {
    const user = await openUserPage(browser, label);
    pages.push(user);
    return user;
  }

  const button = (scope: Page | Locator, name: string) => scope.getByRole('button', { name, exact: true });

  /** Waits for `locator`'s trimmed text to satisfy `accept`. */
  const textOf = (what: string, locator: Locator, accept: (text: string) => boolean) =>
    poll(what, async () => ((await locator.first().textContent({ timeout: 1_000 })) ?? '').trim(), accept);

  /** Waits for `locator`'s attribute `name` to equal `value`. */
  const attributeIs = (what: string, locator: Locator, name: string, value: string) =>
    poll(
      what,
      () => locator.first().getAttribute(name, { timeout: 1_000 }),
      (seen) => seen === value,
    );

  async function continueAsGuest(page: Page, displayName: string): Promise<void> {
    const form = (await waitForScreen(page, 'signin')).locator('form[data-form=guest]');
    await form.locator('input[name=display_name]').fill(displayName);
    await button(form, 'Continue as guest').click();
  }

  /** Opens a meeting's share link and continues as a guest named `displayName`. */
  async function openLinkAsGuest(page: Page, roomCode: string, displayName: string): Promise<void> {
    await page.goto(`${server.url}/join/${roomCode}`);
    await continueAsGuest(page, displayName);
  }

  async function signIn(page: Page, email: string): Promise<void> {
    const form = (await waitForScreen(page, 'signin')).locator('form[data-form=login]');
    await form.locator('input[name=email]').fill(email);
    await form.locator('input[name=password]').fill(password);
    await button(form, 'Sign in').click();
    await waitForScreen(page, 'home');
  }

  /** On the home screen: creates a meeting through the form; the browser goes to its prejoin screen. Returns the room code. */
  async function createMeeting(page: Page, name: string, lockRoom: boolean): Promise<string> {
    const form = (await waitForScreen(page, 'home')).locator('form[data-form=create]');
    await form.locator('input[name=name]').fill(name);
    await form.locator('input[name=lock_room]').setChecked(lockRoom);
    await button(form, 'Create meeting').click();
    try {
      await page.waitForURL(roomCodeUrl, { timeout: 15_000 });
    } catch {
      throw new Error(`"Create meeting" did not go to /join/{room_code}; the page shows ${await describePage(page)}`);
    }
    const prejoin = await waitForScreen(page, 'prejoin');
    await waitForVisible(page, prejoin.getByRole('heading', { level: 1, name, exact: true }), `the prejoin heading "${name}"`);
    return roomCodeUrl.exec(page.url())![1]!;
  }

  /** From the prejoin screen, "Join meeting"; waits for `screen`. */
  async function joinFromPrejoin(page: Page, screen: 'room' | 'waiting' | 'removed'): Promise<Locator> {
    await button(await waitForScreen(page, 'prejoin'), 'Join meeting').click();
    return waitForScreen(page, screen);
  }

  /** Waits for the prejoin screen's preview to show camera frames. */
  const previewPlaying = (page: Page) =>
    poll(
      'the preview video playing the camera',
      () =>
        screenOf(page, 'prejoin')
          .locator('video[data-preview]')
          .evaluate((video: any) => ({ width: video.videoWidth as number, ready: video.readyState as number })),
      ({ width, ready }) => width > 0 && ready >= 2,
    );

  const tiles = (page: Page) => screenOf(page, 'room').locator('[data-tile]');
  const tileOf = (page: Page, userId: string) => screenOf(page, 'room').locator(`[data-tile][data-user-id="${userId}"]`);
  const selfTile = (page: Page) => screenOf(page, 'room').locator('[data-tile][data-self]');
  const hostPanel = (page: Page) => screenOf(page, 'room').locator('[data-panel=host]');
  const coHostPanel = (page: Page) => screenOf(page, 'room').locator('[data-panel=co-host]');
  const lobbyEntry = (page: Page, displayName: string) => hostPanel(page).locator('[data-lobby] [data-lobby-entry]', { hasText: displayName });

  const tileCount = (page: Page, count: number) =>
    poll(
      `${count} tiles`,
      () => tiles(page).count(),
      (seen) => seen === count,
    );

  test(
    'a host registers, creates a locked meeting, admits a speaking guest from the lobby, sees them speak, and ends the meeting',
    async () => {
      const roomName = 'Browser test sync';
      const host = await userPage(quietBrowser, 'host');
      const guest = await userPage(toneBrowser, 'guest');

      // Host: register on /.
      await host.page.goto(`${server.url}/`);
      const signin = await waitForScreen(host.page, 'signin');
      await screenshot(host.page, 'signin');
      const register = signin.locator('form[data-form=register]');
      await register.locator('input[name=display_name]').fill('Hana Host');
      await register.locator('input[name=email]').fill(uniqueEmail('page-host'));
      await register.locator('input[name=password]').fill(password);
      await button(register, 'Create account').click();
      await waitForScreen(host.page, 'home');
      await waitForVisible(host.page, screenOf(host.page, 'home').locator('form[data-form=create]'), 'the create form');
      await screenshot(host.page, 'home');

      // Host: create a meeting with the waiting room on, then join it.
      const code = await createMeeting(host.page, roomName, true);
      await textOf("the host's media status", screenOf(host.page, 'prejoin').locator('[data-media-status]'), (text) => text === 'Camera and microphone ready');
      await previewPlaying(host.page);
      await screenshot(host.page, 'prejoin-host');
      await joinFromPrejoin(host.page, 'room');
      await waitForVisible(host.page, hostPanel(host.page), 'the host panel');
      await waitForVisible(host.page, selfTile(host.page).getByText('Hana Host'), "the host's own tile with their name");
      const hostId = (await selfTile(host.page).getAttribute('data-user-id'))!;
      expect(hostId).toMatch(/^[0-9a-f-]{36}$/);
      await attributeIs("the host's own tile connected", selfTile(host.page), 'data-status', 'connected');

      // Guest: the share link, as a guest, with a working camera and a talking microphone.
      await openLinkAsGuest(guest.page, code, 'Gus Guest');
      const prejoin = await waitForScreen(guest.page, 'prejoin');
      await waitForVisible(guest.page, prejoin.getByRole('heading', { level: 1, name: roomName, exact: true }), 'the room name as h1');
      await textOf('the media status "Camera and microphone ready"', prejoin.locator('[data-media-status]'), (text) => text === 'Camera and microphone ready');
      await waitForVisible(guest.page, prejoin.locator('video[data-preview]'), 'the camera preview');
      await previewPlaying(guest.page);
      expect(await prejoin.locator('select[name=camera] option').count()).toBeGreaterThan(0);
      expect(await prejoin.locator('select[name=microphone] option').count()).toBeGreaterThan(0);
      const meter = prejoin.locator('[data-meter]');
      const levels = new Set<number>();
      await poll(
        'the mic meter moving and above -60 dBFS',
        async () => {
          const raw = await meter.getAttribute('data-level', { timeout: 1_000 });
          const level = Number(raw);
          if (raw === null || !Number.isInteger(level) || level < -127 || level > 0)
            throw new Error(`data-level is ${JSON.stringify(raw)}, not an integer in -127…0`);
          levels.add(level);
          return [...levels];
        },
        (seen) => seen.length >= 2 && Math.max(...seen) > -60,
      );
      await screenshot(guest.page, 'prejoin');

      // Guest: join → the waiting room.
      const waiting = await joinFromPrejoin(guest.page, 'waiting');
      await waitForVisible(guest.page, waiting.getByText('Waiting for the host to let you in'), '"Waiting for the host to let you in"');
      await waitForVisible(guest.page, button(waiting, 'Cancel'), 'the Cancel button');
      await screenshot(guest.page, 'waiting');

      // Host: the guest shows up in the lobby without a reload; admit.
      const entry = lobbyEntry(host.page, 'Gus Guest');
      await waitForVisible(host.page, entry, "the guest in the host's lobby list");
      const guestId = (await entry.getAttribute('data-user-id'))!;
      expect(guestId).toMatch(/^[0-9a-f-]{36}$/);
      for (const name of ['Copy link', 'Admit all', 'Reject all', 'Unlock room', 'End meeting'])
        await waitForVisible(host.page, button(hostPanel(host.page), name), `the host panel's "${name}" button`);
      await screenshot(host.page, 'room-host-lobby');
      await button(entry, 'Admit').click();

      // Both see both; nobody waits any more.
      await waitForScreen(guest.page, 'room');
      await tileCount(guest.page, 2);
      await tileCount(host.page, 2);
      await attributeIs("the guest's own tile", selfTile(guest.page), 'data-user-id', guestId);
      await waitForVisible(guest.page, tileOf(guest.page, hostId).getByText('Hana Host'), "the host's tile on the guest's page");
      await waitForVisible(host.page, tileOf(host.page, guestId).getByText('Gus Guest'), "the guest's tile on the host's page");
      await attributeIs("the guest's tile connected", tileOf(host.page, guestId), 'data-status', 'connected');
      await waitForVisible(host.page, button(tileOf(host.page, guestId), 'Remove'), "a Remove button on the guest's tile");
      expect(await button(guest.page, 'Leave').count()).toBe(1);
      expect(await hostPanel(guest.page).count()).toBe(0);
      await poll(
        'the lobby entry gone',
        () => entry.count(),
        (count) => count === 0,
      );

      // The guest's tone makes them the active speaker, on the host's page and their own.
      await attributeIs("the guest's tile speaking on the host's page", tileOf(host.page, guestId), 'data-speaking', 'true');
      expect(await tileOf(host.page, hostId).getAttribute('data-speaking')).toBe('false');
      await attributeIs("the guest's own tile speaking", selfTile(guest.page), 'data-speaking', 'true');
      await screenshot(host.page, 'room-speaking');

      // The guest reloads: the host sees them disconnected until they join again (within RECONNECT_GRACE_S).
      await guest.page.reload();
      await attributeIs("the guest's tile disconnected after their reload", tileOf(host.page, guestId), 'data-status', 'disconnected');
      await joinFromPrejoin(guest.page, 'room');
      await attributeIs("the guest's tile connected again", tileOf(host.page, guestId), 'data-status', 'connected');
      await tileCount(guest.page, 2);

      // Host: end the meeting; the guest sees it ended.
      await button(hostPanel(host.page), 'End meeting').click();
      const ended = await waitForScreen(guest.page, 'ended');
      await waitForVisible(guest.page, ended.getByText('This meeting has ended'), '"This meeting has ended"');
      await screenshot(guest.page, 'ended');
      const anyone = await guestUser(server, 'Checker');
      expect((await api(anyone, 'GET', `/${code}`)).body.status).toBe('ended');

      // The host's history lists it.
      await poll(
        'the host leaving the room screen',
        () => screenOf(host.page, 'room').count(),
        (count) => count === 0,
      );
      await host.page.goto(`${server.url}/`);
      const history = (await waitForScreen(host.page, 'home')).locator('[data-section=history]');
      await waitForVisible(
        host.page,
        history.locator(`li[data-history-item][data-room-code="${code}"]`, { hasText: roomName }),
        'the ended meeting in the history',
      );
      await screenshot(host.page, 'home-history');
    },
    stepTimeout,
  );

  test(
    'a rejected guest is told so and may ask again; admitted with "Admit all", removed, and the host leaves and rejoins',
    async () => {
      const hostAccount = await registerUser(server, { display_name: 'Rita Host', password });
      const host = await userPage(quietBrowser, 'host');
      const guest = await userPage(quietBrowser, 'guest');

      await host.page.goto(`${server.url}/`);
      // A wrong password is an alert with its code.
      const login = (await waitForScreen(host.page, 'signin')).locator('form[data-form=login]');
      await login.locator('input[name=email]').fill(hostAccount.credentials.email);
      await login.locator('input[name=password]').fill('not the password');
      await button(login, 'Sign in').click();
      await waitForVisible(host.page, login.locator('[role=alert][data-code=INVALID_CREDENTIALS]'), 'an INVALID_CREDENTIALS alert');
      await signIn(host.page, hostAccount.credentials.email);
      const code = await createMeeting(host.page, 'Reject test', true);
      await joinFromPrejoin(host.page, 'room');

      // The name has markup in it: the page shows it as text, never as HTML.
      const guestName = 'Rex <i>Rejected</i>';
      await openLinkAsGuest(guest.page, code, guestName);
      await joinFromPrejoin(guest.page, 'waiting');

      const entry = lobbyEntry(host.page, guestName);
      await waitForVisible(host.page, entry, 'the guest in the lobby, their name as text');
      expect(await entry.locator('i').count()).toBe(0);
      const guestId = (await entry.getAttribute('data-user-id'))!;

      // Cancel: back to prejoin, out of the host's lobby; joining again knocks again.
      await button(screenOf(guest.page, 'waiting'), 'Cancel').click();
      await waitForScreen(guest.page, 'prejoin');
      await poll(
        'the cancelled guest gone from the lobby',
        () => entry.count(),
        (count) => count === 0,
      );
      await joinFromPrejoin(guest.page, 'waiting');
      await waitForVisible(host.page, entry, 'the guest in the lobby after knocking again');
      await button(entry, 'Reject').click();
      const rejected = await waitForScreen(guest.page, 'rejected');
      await waitForVisible(guest.page, rejected.getByText('The host did not let you in'), '"The host did not let you in"');
      await screenshot(guest.page, 'rejected');
      await poll(
        'the rejected entry gone from the lobby',
        () => entry.count(),
        (count) => count === 0,
      );

      // Ask again: back in the lobby; "Reject all" turns them away again, and "Admit all" lets them in.
      await button(rejected, 'Ask again').click();
      await waitForScreen(guest.page, 'waiting');
      await waitForVisible(host.page, entry, 'the guest in the lobby again');
      await button(hostPanel(host.page), 'Reject all').click();
      await waitForScreen(guest.page, 'rejected');
      await poll(
        'the lobby empty after "Reject all"',
        () => entry.count(),
        (count) => count === 0,
      );
      await button(screenOf(guest.page, 'rejected'), 'Ask again').click();
      await waitForScreen(guest.page, 'waiting');
      await waitForVisible(host.page, entry, 'the guest in the lobby once more');
      await button(hostPanel(host.page), 'Admit all').click();
      await waitForScreen(guest.page, 'room');
      await tileCount(host.page, 2);
      expect(await coHostPanel(guest.page).isVisible()).toBe(false);

      // Co-host: the guest's page gets the link and the lobby (someone knocking meanwhile), not the meeting's controls.
      await button(tileOf(host.page, guestId), 'Make co-host').click();
      await waitForVisible(host.page, tileOf(host.page, guestId).getByText('Co-host', { exact: true }), "the Co-host badge on the guest's tile");
      await waitForVisible(guest.page, coHostPanel(guest.page), "the co-host's panel");
      const knocker = await guestUser(server, 'Kim Knocker');
      expect((await api(knocker, 'POST', `/${code}/join`)).body.status).toBe('waiting');
      const knock = coHostPanel(guest.page).locator('[data-lobby] [data-lobby-entry]', { hasText: 'Kim Knocker' });
      await waitForVisible(guest.page, knock, "the knocker in the co-host's lobby");
      for (const name of ['Copy link', 'Admit all', 'Reject all'])
        await waitForVisible(guest.page, button(coHostPanel(guest.page), name), `the co-host panel's "${name}" button`);
      expect(await button(coHostPanel(guest.page), 'End meeting').count()).toBe(0);
      expect(await button(tileOf(guest.page, hostAccount.user.id), 'Remove').count()).toBe(0);
      await screenshot(guest.page, 'room-co-host');
      await button(knock, 'Admit').click();
      await tileCount(host.page, 3);
      await waitForVisible(guest.page, button(tileOf(guest.page, knocker.userId), 'Remove'), "a Remove button on the knocker's tile, for the co-host");
      expect((await api(knocker, 'POST', `/${code}/leave`)).status).toBe(200);
      await tileCount(host.page, 2);
      // The host takes it back: the panel goes.
      await button(tileOf(host.page, guestId), 'Remove co-host').click();
      await poll(
        "the co-host's panel hidden again",
        () => coHostPanel(guest.page).isVisible(),
        (visible) => !visible,
      );

      // Remove: the guest is told, and their tile goes.
      await button(tileOf(host.page, guestId), 'Remove').click();
      const removed = await waitForScreen(guest.page, 'removed');
      await waitForVisible(guest.page, removed.getByText('You were removed from this meeting'), '"You were removed from this meeting"');
      await screenshot(guest.page, 'removed');
      await tileCount(host.page, 1);
      // Removed for good: the link again, "Join meeting" → removed again.
      await guest.page.reload();
      await joinFromPrejoin(guest.page, 'removed');

      // Lock toggle: the room was created locked.
      await button(hostPanel(host.page), 'Unlock room').click();
      await waitForVisible(host.page, button(hostPanel(host.page), 'Lock room'), 'the "Lock room" button after unlocking');
      expect((await api({ token: hostAccount.access_token, userId: hostAccount.user.id, name: 'Rita Host' }, 'GET', `/${code}`)).body.settings.lock_room).toBe(
        false,
      );

      // The host leaves and comes back.
      await button(screenOf(host.page, 'room'), 'Leave').click();
      const left = await waitForScreen(host.page, 'left');
      await waitForVisible(host.page, left.getByText('You left the meeting'), '"You left the meeting"');
      await screenshot(host.page, 'left');
      await button(left, 'Rejoin').click();
      // Rejoining may go straight to the room or through the prejoin screen.
      await waitForVisible(host.page, host.page.locator('main[data-screen=room], main[data-screen=prejoin]'), 'the room or prejoin screen after "Rejoin"');
      if (await screenOf(host.page, 'prejoin').count()) await joinFromPrejoin(host.page, 'room');
      await waitForVisible(host.page, hostPanel(host.page), 'the host panel after rejoining');
    },
    stepTimeout,
  );

  test(
    'with camera and microphone blocked, the prejoin screen says so and the guest can still join',
    async () => {
      const deniedBrowser = await launchBrowser({ media: 'denied' });
      const host = await hostUser(server, 'Dana Host');
      const room = await createRoom(server, host, { name: 'Blocked media' });
      const guest = await userPage(deniedBrowser, 'blocked guest');

      await openLinkAsGuest(guest.page, room.room_code, 'Bea Blocked');
      const prejoin = await waitForScreen(guest.page, 'prejoin');
      await textOf('a media status that says "blocked"', prejoin.locator('[data-media-status]'), (text) => /blocked/i.test(text));
      await screenshot(guest.page, 'prejoin-denied');

      // The host has not started the meeting: the guest waits, then gets in when the host joins.
      const join = button(prejoin, 'Join meeting');
      expect(await join.isEnabled()).toBe(true);
      await join.click();
      const waiting = await waitForScreen(guest.page, 'waiting');
      await waitForVisible(guest.page, waiting.getByText(/has not started/), '"… has not started"');
      await screenshot(guest.page, 'waiting-not-started');
      expect((await api(host, 'POST', `/${room.room_code}/join`)).status).toBe(200);
      await waitForScreen(guest.page, 'room');
      await waitForVisible(guest.page, selfTile(guest.page).getByText('Bea Blocked'), "the guest's own tile");
    },
    stepTimeout,
  );

  test(
    'a guest waiting in the lobby sees "This meeting has ended" when the host ends it',
    async () => {
      const host = await hostUser(server, 'Vera Host');
      const room = await createRoom(server, host, { name: 'Ends while waiting', settings: { lock_room: true } });
      expect((await api(host, 'POST', `/${room.room_code}/join`)).status).toBe(200);
      const guest = await userPage(quietBrowser, 'waiting guest');
      await openLinkAsGuest(guest.page, room.room_code, 'Walt Waiting');
      await joinFromPrejoin(guest.page, 'waiting');
      expect((await api(host, 'POST', `/${room.room_code}/end`)).status).toBe(200);
      const ended = await waitForScreen(guest.page, 'ended');
      await waitForVisible(guest.page, ended.getByText('This meeting has ended'), '"This meeting has ended"');
    },
    stepTimeout,
  );

  test(
    'two tabs of one browser are two people: the host in one, the share link in the other asks who you are',
    async () => {
      const host = await userPage(quietBrowser, 'host tab');
      const hostAccount = await registerUser(server, { display_name: 'Tara Host' });
      await host.page.goto(`${server.url}/`);
      await signIn(host.page, hostAccount.credentials.email);
      const code = await createMeeting(host.page, 'Two tabs', false);
      await joinFromPrejoin(host.page, 'room');

      const secondTab = await host.context.newPage();
      secondTab.on('pageerror', (error) => host.errors.push(`[second tab] ${error.name}: ${error.message}`));
      await openLinkAsGuest(secondTab, code, 'Tom Tab');
      await joinFromPrejoin(secondTab, 'room');
      await tileCount(host.page, 2);
      await waitForVisible(host.page, tiles(host.page).filter({ hasText: 'Tom Tab' }), "the second tab's guest on the host's page");
      // A reload keeps each tab's own session.
      await host.page.reload();
      await joinFromPrejoin(host.page, 'room');
      await waitForVisible(host.page, hostPanel(host.page), 'the host panel after a reload');
    },
    stepTimeout,
  );

  test(
    'while the browser still asks for camera and microphone (nobody answers), the guest can join without them',
    async () => {
      const host = await hostUser(server, 'Paula Host');
      const room = await createRoom(server, host, { name: 'Unanswered prompt' });
      const guest = await userPage(await launchBrowser({ media: 'prompt' }), 'guest facing a prompt');
      await holdMediaRequests(guest.page);
      await openLinkAsGuest(guest.page, room.room_code, 'Pat Pending');
      const prejoin = await waitForScreen(guest.page, 'prejoin');
      await textOf('a media status that is still asking', prejoin.locator('[data-media-status]'), (text) => /Asking/.test(text));
      await joinFromPrejoin(guest.page, 'waiting');
      const lobby = await api(host, 'GET', `/${room.room_code}/participants`);
      expect(lobby.body.lobby).toEqual([expect.objectContaining({ display_name: 'Pat Pending', hardware_ready: false })]);
    },
    stepTimeout,
  );

  test(
    'with no camera, or no devices at all, the prejoin screen says what is missing and the guest can still join',
    async () => {
      const host = await hostUser(server, 'Nina Host');
      const room = await createRoom(server, host, { name: 'Missing devices' });
      const cases = [
        { devices: 'no-camera', expected: /No camera/, shot: 'prejoin-no-camera' },
        { devices: 'none', expected: /No (camera|microphone)/, shot: 'prejoin-no-devices' },
      ] as const;
      for (const { devices, expected, shot } of cases) {
        const guest = await userPage(await launchBrowser({ devices }), `guest without ${devices}`);
        await openLinkAsGuest(guest.page, room.room_code, `Guest ${devices}`);
        const prejoin = await waitForScreen(guest.page, 'prejoin');
        await textOf(`a media status matching ${expected}`, prejoin.locator('[data-media-status]'), (text) => expected.test(text));
        await screenshot(guest.page, shot);
        await joinFromPrejoin(guest.page, 'waiting');
      }
    },
    stepTimeout,
  );

  test(
    'the link of an ended meeting says it has ended; an unknown code says there is no such meeting; a guest cannot create',
    async () => {
      const host = await hostUser(server, 'Eve Host');
      const room = await createRoom(server, host, { name: 'Already over' });
      expect((await api(host, 'POST', `/${room.room_code}/end`)).status).toBe(200);
      const guest = await userPage(quietBrowser, 'late guest');

      await openLinkAsGuest(guest.page, room.room_code, 'Lou Late');
      const ended = await waitForScreen(guest.page, 'ended');
      await waitForVisible(guest.page, ended.getByText('This meeting has ended'), '"This meeting has ended"');
      await screenshot(guest.page, 'ended-link');

      await guest.page.goto(`${server.url}/join/AAAAAAAAAAAA`);
      const notFound = await waitForScreen(guest.page, 'not-found');
      await waitForVisible(guest.page, notFound.getByText('No such meeting'), '"No such meeting"');
      await screenshot(guest.page, 'not-found');
      await guest.page.goto(`${server.url}/join/not-a-code`);
      await waitForVisible(guest.page, (await waitForScreen(guest.page, 'not-found')).getByText('No such meeting'), '"No such meeting" for a malformed code');

      // A guest's home has no create form.
      await guest.page.goto(`${server.url}/`);
      const home = await waitForScreen(guest.page, 'home');
      // "Sign out" is in the page's header bar, outside <main>.
      await waitForVisible(guest.page, button(guest.page, 'Sign out'), 'the Sign out button');
      expect(await home.locator('form[data-form=create]').count()).toBe(0);
    },
    stepTimeout,
  );

  test(
    'history pages with "Load more", newest first, and "Sign out" signs out',
    async () => {
      const account = await registerUser(server, { display_name: 'Hal History', password });
      const actor = { token: account.access_token, userId: account.user.id, name: 'Hal History' };
      const codes: string[] = [];
      for (let i = 0; i < 25; i += 1) {
        const room = await createRoom(server, actor, { name: `Past meeting ${i + 1}` });
        expect((await api(actor, 'POST', `/${room.room_code}/end`)).status).toBe(200);
        codes.unshift(room.room_code); // newest ended first
      }
      const user = await userPage(quietBrowser, 'history');
      await user.page.goto(`${server.url}/`);
      await signIn(user.page, account.credentials.email);
      const history = screenOf(user.page, 'home').locator('[data-section=history]');
      const items = history.locator('li[data-history-item]');
      const loadMore = button(history, 'Load more');
      await waitForVisible(user.page, items, 'history items');

      let shown = await items.count();
      for (let loads = 1; shown < codes.length; loads += 1) {
        expect(loads).toBeLessThan(codes.length); // each page adds at least one item
        await waitForVisible(user.page, loadMore, `"Load more" with ${shown} of ${codes.length} items shown`);
        await loadMore.click();
        const before = shown;
        shown = await poll(
          'more history items',
          () => items.count(),
          (count) => count > before,
        );
      }
      expect(await items.evaluateAll((elements: any[]) => elements.map((element) => element.getAttribute('data-room-code')))).toEqual(codes);
      await screenshot(user.page, 'home-history-pages');
      await poll(
        'no "Load more" on the last page',
        () => loadMore.count(),
        (count) => count === 0,
      );

      await button(user.page, 'Sign out').click();
      await waitForScreen(user.page, 'signin');
      await user.page.reload();
      await waitForScreen(user.page, 'signin');
    },
    stepTimeout,
  );

  test('the page is served with a strict CSP, cached assets and a revalidated index', async () => {
    const index = await fetch(`${server.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    // Revalidated by its date (API answers carry no ETag, and Express's setting covers sendFile too).
    const lastModified = index.headers.get('last-modified') ?? '';
    expect(lastModified).not.toBe('');
    // As a browser revalidates (fetch would otherwise add `Cache-Control: no-cache`, which forces a 200).
    const revalidated = await fetch(`${server.url}/`, { headers: { 'if-modified-since': lastModified, 'cache-control': 'max-age=0' } });
    expect(revalidated.status).toBe(304);
    const csp = index.headers.get('content-security-policy') ?? '';
    const scriptSrc = csp
      .split(';')
      .map((directive) => directive.trim())
      .find((directive) => directive.startsWith('script-src '));
    expect(scriptSrc).toBe("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');

    const joinPage = await fetch(`${server.url}/join/AAAAAAAAAAAA`);
    expect(joinPage.status).toBe(200);
    expect(joinPage.headers.get('cache-control')).toBe('no-cache');
    expect(joinPage.headers.get('content-security-policy')).toBe(csp);

    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(assets.some((asset) => asset.endsWith('.js'))).toBe(true);
    expect(assets.some((asset) => asset.endsWith('.css'))).toBe(true);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script: CSP would block it
    for (const asset of assets) {
      const response = await fetch(`${server.url}${asset}`);
      expect([asset, response.status]).toEqual([asset, 200]);
      expect([asset, response.headers.get('cache-control')]).toEqual([asset, 'public, max-age=31536000, immutable']);
      await response.arrayBuffer();
    }
    const missing = await fetch(`${server.url}/assets/main-DOESNOTEXIST.js`);
    expect(missing.status).toBe(404);
  });
});
