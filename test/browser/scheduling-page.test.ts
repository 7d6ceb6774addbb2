import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  closeBrowsers,
  closeUserPages,
  describePage,
  launchBrowser,
  makeTempDir,
  openUserPage,
  poll,
  screenOf,
  screenshot,
  waitForScreen,
  waitForVisible,
  writeSilenceWav,
  type UserPage,
} from '../support/browser';
import { testDatabaseUrl } from '../support/env';
import { createRoom, hostUser, meetings, type Actor } from '../support/meetings';
import { registerUser, startServer, type TestServer } from '../support/server';

/**
 * Scheduling on the meeting page's home screen (src/web/schedule.ts, src/web/upcoming.ts) in real
 * Chromium against a real server: a host schedules meetings in their own time zone, finds them
 * under Upcoming (soonest first, in local time, with a link to copy), sees the server refuse a
 * start in the past, and joins one from the list. The browser runs in India's time zone (UTC+5:30
 * all year, no daylight saving), so the test knows each local time's UTC instant without asking
 * the browser.
 */

const stepTimeout = 90_000;
const password = 'correct horse battery';
const zone = 'Asia/Kolkata';
const zoneOffsetMs = 5.5 * 3_600_000;

/** The date `days` from today in `zone`, as a datetime-local input wants it (YYYY-MM-DD). */
const localDate = (days: number) => new Date(Date.now() + zoneOffsetMs + days * 86_400_000).toISOString().slice(0, 10);
/** The UTC instant of a local date and time (HH:MM) in `zone`. */
const utcOf = (date: string, time: string) => new Date(Date.parse(`${date}T${time}:00Z`) - zoneOffsetMs).toISOString();
/** That instant's day as the page shows it (en-US, in `zone`). */
const dayOf = (iso: string) => new Date(iso).toLocaleDateString('en-US', { timeZone: zone, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });

describe('scheduling meetings on the home screen, in Chromium', () => {
  let server: TestServer;
  let api: ReturnType<typeof meetings>;
  let browser: Browser;
  const pages: UserPage[] = [];

  beforeAll(async () => {
    server = await startServer();
    api = meetings(server);
    browser = await launchBrowser({ audioWav: await writeSilenceWav(await makeTempDir('schedule')) });
  });
  afterEach(async () => {
    expect(await closeUserPages(pages)).toEqual([]);
  });
  afterAll(async () => {
    await closeBrowsers();
    await server?.close();
  });

  const button = (scope: Page | Locator, name: string) => scope.getByRole('button', { name, exact: true });
  const textOf = (what: string, locator: Locator, accept: (text: string) => boolean) =>
    poll(what, async () => ((await locator.first().textContent({ timeout: 1_000 })) ?? '').trim(), accept);

  /** A registered host, signed in on the home screen of a page in `zone`, allowed to use the clipboard. */
  async function signedInHost(name: string): Promise<{ page: Page; actor: Actor; email: string }> {
    const account = await registerUser(server, { display_name: name, password });
    const user = await openUserPage(browser, name, { timezoneId: zone, locale: 'en-US' });
    pages.push(user);
    await user.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await user.page.goto(`${server.url}/`);
    const login = (await waitForScreen(user.page, 'signin')).locator('form[data-form=login]');
    await login.locator('input[name=email]').fill(account.credentials.email);
    await login.locator('input[name=password]').fill(password);
    await button(login, 'Sign in').click();
    await waitForScreen(user.page, 'home');
    return { page: user.page, actor: { token: account.access_token, userId: account.user.id, name }, email: account.credentials.email };
  }

  const scheduleFormOf = (page: Page) => screenOf(page, 'home').locator('form[data-form=schedule]');
  const upcoming = (page: Page) => screenOf(page, 'home').locator('[data-section=upcoming]');
  const upcomingItems = (page: Page) => upcoming(page).locator('li[data-upcoming-item]');
  const itemOf = (page: Page, name: string) => upcomingItems(page).filter({ has: page.getByText(name, { exact: true }) });
  const codesShown = (page: Page) => upcomingItems(page).evaluateAll((items: any[]) => items.map((item) => item.getAttribute('data-room-code')));

  /** Fills the schedule form through its labels and submits it. `duration` is an option's text. */
  async function schedule(page: Page, name: string, date: string, time: string, duration = '1 hour'): Promise<void> {
    const form = scheduleFormOf(page);
    await form.getByLabel('Meeting name').fill(name);
    await form.getByLabel('Starts').fill(`${date}T${time}`);
    await form.getByLabel('Duration').selectOption({ label: duration });
    await button(form, 'Schedule meeting').click();
  }

  /** Schedules through the form and waits for the confirmation; returns the room code from Upcoming. */
  async function scheduleOk(page: Page, name: string, date: string, time: string, duration?: string): Promise<string> {
    await schedule(page, name, date, time, duration);
    await textOf(`the confirmation for "${name}"`, scheduleFormOf(page).locator('[data-scheduled]'), (text) => text.startsWith(`Scheduled “${name}” for`));
    const item = await waitForVisible(page, itemOf(page, name), `"${name}" under Upcoming`);
    return (await item.getAttribute('data-room-code'))!;
  }

  test(
    'a host schedules a meeting for tomorrow, finds it under Upcoming in local time with a link to copy; a sooner one sorts first',
    async () => {
      const { page, actor } = await signedInHost('Sana Scheduler');
      await waitForVisible(page, upcoming(page).getByText('Nothing scheduled', { exact: false }), 'the empty Upcoming list');

      const tomorrow = localDate(1);
      const reviewCode = await scheduleOk(page, 'Quarterly review', tomorrow, '09:30');
      const review = itemOf(page, 'Quarterly review');
      const reviewStart = utcOf(tomorrow, '09:30');
      // What the server stored is the local time's UTC instant, with the chosen hour as the end.
      const listed = (await api(actor, 'GET', '/upcoming')).body.items;
      expect(listed).toEqual([
        expect.objectContaining({
          room_code: reviewCode,
          role: 'host',
          scheduled_start_at: reviewStart,
          scheduled_end_at: new Date(Date.parse(reviewStart) + 3_600_000).toISOString(),
        }),
      ]);
      expect(await review.locator('time').getAttribute('datetime')).toBe(reviewStart);
      expect((await review.locator('[data-day]').textContent())!.trim()).toBe(dayOf(reviewStart));
      expect((await review.locator('[data-time]').textContent())!.trim()).toMatch(/^9:30\sAM – 10:30\sAM$/);
      expect(await review.locator('.badge').first().textContent()).toBe('You host');
      expect(await review.getAttribute('class')).toContain('new');
      // The focus moves to the new meeting's Copy link (the form's button was disabled while it waited).
      expect(await button(review, 'Copy link').evaluate((element: any) => element === element.ownerDocument.activeElement)).toBe(true);

      // Copy link: the clipboard holds the share link the item shows.
      const joinUrl = listed[0].join_url as string;
      expect(await review.locator('.share-link').textContent()).toBe(joinUrl);
      await button(review, 'Copy link').click();
      await waitForVisible(page, page.getByRole('status').filter({ hasText: 'Link copied' }), 'the "Link copied" notice');
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(joinUrl);

      // A sooner meeting, with no set end, comes first.
      const standupCode = await scheduleOk(page, 'Standup', tomorrow, '08:00', 'No set end');
      await poll(
        'both meetings, soonest first',
        () => codesShown(page),
        (codes) => JSON.stringify(codes) === JSON.stringify([standupCode, reviewCode]),
      );
      expect((await itemOf(page, 'Standup').locator('[data-time]').textContent())!.trim()).toMatch(/^8:00\sAM$/);
      await poll(
        'the notice gone',
        () => page.getByRole('status').filter({ hasText: 'Link copied' }).count(),
        (count) => count === 0,
      );
      await screenshot(page, 'home-upcoming');
      // A phone's width: one column, nothing cut off.
      await page.setViewportSize({ width: 400, height: 800 });
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(400);
      await screenshot(page, 'home-upcoming-narrow');
      await page.emulateMedia({ colorScheme: 'dark' });
      await screenshot(page, 'home-upcoming-dark');
    },
    stepTimeout,
  );

  test(
    'a start in the past is refused by the server, and the form says which field and why',
    async () => {
      const { page, actor } = await signedInHost('Pat Past');
      await schedule(page, 'Too late', localDate(-1), '10:00');
      const alert = await waitForVisible(page, scheduleFormOf(page).getByRole('alert'), 'the error in the schedule form');
      expect(await alert.getAttribute('data-code')).toBe('VALIDATION_FAILED');
      expect((await alert.textContent())!.trim()).toBe('Start must be in the future');
      const start = scheduleFormOf(page).getByLabel('Starts');
      expect(await start.getAttribute('aria-invalid')).toBe('true');
      expect(await start.evaluate((input: any) => input === input.ownerDocument.activeElement)).toBe(true);
      await screenshot(page, 'home-schedule-error');
      expect((await api(actor, 'GET', '/upcoming')).body.items).toEqual([]);

      // Fixed, it goes through and the error goes away.
      await scheduleOk(page, 'Too late', localDate(2), '10:00');
      expect(await scheduleFormOf(page).getByRole('alert').count()).toBe(0);
      expect(await start.getAttribute('aria-invalid')).toBeNull();
    },
    stepTimeout,
  );

  test(
    "Join from Upcoming opens the room's pre-join screen; an invitation shows as Invited (and Started once its host is in), with no link to copy",
    async () => {
      const { page, email } = await signedInHost('Jo Joiner');
      // Someone else's meeting, with an invitation to this host's email (no route makes one yet: a row, as the service writes it).
      const start = new Date(Date.now() + 2 * 86_400_000).toISOString();
      const olga = await hostUser(server, 'Olga Other');
      const invited = await createRoom(server, olga, { name: 'Board meeting', scheduled_start_at: start });
      expect((await api(olga, 'POST', `/${invited.room_code}/join`, {})).body.status).toBe('joined'); // early: it has started
      const db = new Client({ connectionString: testDatabaseUrl });
      await db.connect();
      try {
        await db.query(
          `insert into invitations (id, room_id, email, token_hash, created_at, expires_at)
           select gen_random_uuid(), r.id, $2, $3, now(), now() + interval '7 days' from rooms r where r.room_code = $1`,
          [invited.room_code, email, randomBytes(32)],
        );
      } finally {
        await db.end();
      }
      const code = await scheduleOk(page, 'Design review', localDate(1), '14:00');
      await page.reload();
      await waitForScreen(page, 'home');
      await poll(
        'the hosted and the invited meeting, soonest first',
        () => codesShown(page),
        (codes) => JSON.stringify(codes) === JSON.stringify([code, invited.room_code]),
      );
      const board = itemOf(page, 'Board meeting');
      expect(await board.locator('.badge').allTextContents()).toEqual(['Invited', 'Started']);
      expect(await button(board, 'Copy link').count()).toBe(0);

      await itemOf(page, 'Design review').getByRole('link', { name: 'Join', exact: true }).click();
      try {
        await page.waitForURL(`${server.url}/join/${code}`, { timeout: 15_000 });
      } catch {
        throw new Error(`"Join" did not go to /join/${code}; the page shows ${await describePage(page)}`);
      }
      const prejoin = await waitForScreen(page, 'prejoin');
      await waitForVisible(page, prejoin.getByRole('heading', { level: 1, name: 'Design review', exact: true }), 'the prejoin heading');
    },
    stepTimeout,
  );

  test(
    'a meeting set to end on time warns the people in it, then ends',
    async () => {
      const { page, actor } = await signedInHost('Tia Timebox');
      // Planned to end in 20 s: inside the 5-minute warning window, so the warning comes on joining.
      const end = new Date(Date.now() + 20_000).toISOString();
      const { room_code: code } = await createRoom(server, actor, {
        name: 'Timeboxed',
        settings: { end_at_scheduled_end: true },
        scheduled_start_at: new Date(Date.now() + 2_000).toISOString(),
        scheduled_end_at: end,
      });
      await page.goto(`${server.url}/join/${code}`);
      await button(await waitForScreen(page, 'prejoin'), 'Join meeting').click();
      await waitForScreen(page, 'room');
      const clock = new Date(end).toLocaleTimeString('en-US', { timeZone: zone, hour: 'numeric', minute: '2-digit' });
      await waitForVisible(page, page.getByRole('status').filter({ hasText: `This meeting ends at ${clock}, as scheduled` }), 'the "ends at" notice');
      await screenshot(page, 'room-ending');
      await waitForScreen(page, 'ended', 40_000);
      const ended = (await api(actor, 'GET', `/${code}`)).body;
      expect(ended.status).toBe('ended');
      expect(Date.parse(ended.ended_at)).toBeGreaterThanOrEqual(Date.parse(end));
    },
    stepTimeout,
  );

  test(
    'Upcoming pages with "Load more"',
    async () => {
      const account = await registerUser(server, { display_name: 'Lou Lots', password });
      const actor = { token: account.access_token, userId: account.user.id, name: 'Lou Lots' };
      const codes: string[] = [];
      for (let i = 0; i < 12; i += 1) {
        const start = new Date(Date.now() + (i + 1) * 3_600_000).toISOString();
        codes.push((await createRoom(server, actor, { name: `Planned ${i + 1}`, scheduled_start_at: start })).room_code);
      }
      const user = await openUserPage(browser, 'lots', { timezoneId: zone, locale: 'en-US' });
      pages.push(user);
      await user.page.goto(`${server.url}/`);
      const login = (await waitForScreen(user.page, 'signin')).locator('form[data-form=login]');
      await login.locator('input[name=email]').fill(account.credentials.email);
      await login.locator('input[name=password]').fill(password);
      await button(login, 'Sign in').click();
      await poll(
        'the first page of 10',
        () => upcomingItems(user.page).count(),
        (count) => count === 10,
      );
      await button(upcoming(user.page), 'Load more').click();
      await poll(
        'all 12, soonest first',
        () => codesShown(user.page),
        (shown) => JSON.stringify(shown) === JSON.stringify(codes),
      );
      await poll(
        'no "Load more" on the last page',
        () => button(upcoming(user.page), 'Load more').count(),
        (count) => count === 0,
      );
    },
    stepTimeout,
  );
});
