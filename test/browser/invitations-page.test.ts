import { randomBytes } from 'node:crypto';
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
import { meetings, type Actor } from '../support/meetings';
import { registerUser, startServer, type TestServer } from '../support/server';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp-server';

/**
 * Invitations on the meeting page (src/web/invitations.ts, src/web/invitation-link.ts) in real
 * Chromium against a real server without SMTP (so the page shows the links to pass on): a host
 * invites from the room's panel and from the schedule form, copies a link, revokes one; an
 * invitee's link takes them through sign-in and pre-join straight into a locked room, while the
 * plain share link waits in the lobby and a revoked link says it is no longer valid. A second
 * server with SMTP (a local test SMTP server that refuses one address) shows the emails' fates.
 */

const stepTimeout = 90_000;
const password = 'correct horse battery';
const roomCodeUrl = /\/join\/([A-Za-z0-9_-]{12})$/;

describe('invitations on the meeting page, in Chromium', () => {
  let server: TestServer;
  /** The same, with SMTP_URL: invitations are emailed, and `nobody-…` addresses refused for good. */
  let mailServer: TestServer;
  let smtp: TestSmtpServer;
  let api: ReturnType<typeof meetings>;
  let browser: Browser;
  const pages: UserPage[] = [];

  beforeAll(async () => {
    smtp = await startSmtpServer();
    smtp.refuse = (recipient) => (recipient.startsWith('nobody-') ? { code: 550, message: 'No such mailbox' } : null);
    [server, mailServer] = await Promise.all([
      startServer(),
      startServer({ SMTP_URL: smtp.url, MAIL_FROM: 'Meetings <meetings@example.com>', MAIL_RETRY_BASE_MS: '50' }),
    ]);
    api = meetings(server);
    browser = await launchBrowser({ audioWav: await writeSilenceWav(await makeTempDir('invite')) });
  });
  afterEach(async () => {
    expect(await closeUserPages(pages)).toEqual([]);
  });
  afterAll(async () => {
    await closeBrowsers();
    await Promise.all([server?.close(), mailServer?.close()]);
    await smtp?.stop();
  });

  const button = (scope: Page | Locator, name: string) => scope.getByRole('button', { name, exact: true });
  const textOf = (what: string, locator: Locator, accept: (text: string) => boolean) =>
    poll(what, async () => ((await locator.first().textContent({ timeout: 1_000 })) ?? '').trim(), accept);
  const address = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.test`;

  async function userPage(label: string): Promise<UserPage> {
    const user = await openUserPage(browser, label, { timezoneId: 'UTC', locale: 'en-US' });
    pages.push(user);
    return user;
  }

  /** A registered host signed in on the home screen, allowed to use the clipboard. */
  async function signedInHost(name: string, on = server): Promise<{ page: Page; actor: Actor }> {
    const account = await registerUser(on, { display_name: name, password });
    const { page, context } = await userPage(name);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: on.url });
    await page.goto(`${on.url}/`);
    const login = (await waitForScreen(page, 'signin')).locator('form[data-form=login]');
    await login.locator('input[name=email]').fill(account.credentials.email);
    await login.locator('input[name=password]').fill(password);
    await button(login, 'Sign in').click();
    await waitForScreen(page, 'home');
    return { page, actor: { token: account.access_token, userId: account.user.id, name } };
  }

  /** The host creates a meeting with the waiting room on and joins it; returns its code. */
  async function hostInLockedRoom(page: Page, name: string): Promise<string> {
    const form = (await waitForScreen(page, 'home')).locator('form[data-form=create]');
    await form.getByLabel('Meeting name').fill(name);
    await form.getByLabel('Waiting room: I admit each guest').setChecked(true);
    await button(form, 'Create meeting').click();
    await page.waitForURL(roomCodeUrl);
    await button(await waitForScreen(page, 'prejoin'), 'Join meeting').click();
    await waitForVisible(page, hostPanel(page), 'the host panel');
    return roomCodeUrl.exec(page.url())![1]!;
  }

  const hostPanel = (page: Page) => screenOf(page, 'room').locator('[data-panel=host]');
  const invitationOf = (page: Page, email: string) => hostPanel(page).locator(`[data-invitations] li[data-invitation][data-email="${email}"]`);
  const statusOf = (page: Page, email: string, status: string) =>
    poll(
      `the invitation of ${email} "${status}" in the host's list`,
      () => invitationOf(page, email).getAttribute('data-status', { timeout: 1_000 }),
      (seen) => seen === status,
    );

  /** Invites `email` from the room's panel; returns the invite link the page shows for it. */
  async function inviteFromPanel(page: Page, email: string): Promise<string> {
    const form = hostPanel(page).locator('form[data-form=invite]');
    await form.getByLabel('Invite people by email').fill(email);
    await button(form, 'Invite').click();
    const link = await waitForVisible(
      page,
      form.locator(`[data-invite-results] li[data-invite-link][data-email="${email}"] input`),
      `the invite link of ${email}`,
    );
    return link.inputValue();
  }

  /** Opens `url`'s path and query on the test server (its host is PUBLIC_BASE_URL's) and continues as a guest. */
  async function openAsGuest(page: Page, url: string, name: string): Promise<Locator> {
    const { pathname, search } = new URL(url);
    await page.goto(`${server.url}${pathname}${search}`);
    const signin = await waitForScreen(page, 'signin');
    const form = signin.locator('form[data-form=guest]');
    await form.getByLabel('Your name').fill(name);
    await button(form, 'Continue as guest').click();
    return waitForScreen(page, 'prejoin');
  }

  test(
    'a host invites from the room, copies the link; the invitee comes straight into the locked room, a plain link waits in the lobby',
    async () => {
      const host = await signedInHost('Ines Host');
      const code = await hostInLockedRoom(host.page, 'Invite-only sync');
      await textOf('the empty invitation list', hostPanel(host.page).locator('[data-invitations]'), (text) => text === 'Nobody invited by email yet.');

      const annEmail = address('ann');
      const inviteUrl = await inviteFromPanel(host.page, annEmail);
      expect(inviteUrl).toMatch(new RegExp(`/join/${code}\\?invitation=[A-Za-z0-9_-]{20,}$`));
      const results = hostPanel(host.page).locator('[data-invite-results]');
      expect(await results.getAttribute('role')).toBe('status');
      expect(await results.textContent()).toContain('shown only once');
      await statusOf(host.page, annEmail, 'pending');
      // No SMTP: the list says nothing of an email.
      expect(await invitationOf(host.page, annEmail).locator('[data-email-status]').count()).toBe(0);
      expect(await hostPanel(host.page).getByRole('heading', { name: 'Invitations (1)' }).count()).toBe(1);

      // Copy link: the clipboard holds the invite link.
      const copy = results.locator('li[data-invite-link]').getByRole('button', { name: 'Copy link' });
      await copy.click();
      await waitForVisible(host.page, host.page.getByRole('status').filter({ hasText: 'Link copied' }), 'the "Link copied" notice');
      expect(await host.page.evaluate('navigator.clipboard.readText()')).toBe(inviteUrl);
      await screenshot(host.page, 'room-invite-links');

      // The invitee: the link, a guest name, pre-join, and straight into the room.
      const ann = await userPage('ann');
      const prejoin = await openAsGuest(ann.page, inviteUrl, 'Ann Invitee');
      expect(ann.page.url()).toBe(`${server.url}/join/${code}`);
      expect(await ann.page.evaluate('Object.keys(localStorage).length')).toBe(0);
      expect(await prejoin.locator('.lead').textContent()).toContain('With your invitation you go straight in.');
      await button(prejoin, 'Join meeting').click();
      await waitForScreen(ann.page, 'room');
      await waitForVisible(host.page, screenOf(host.page, 'room').locator('[data-tile]', { hasText: 'Ann Invitee' }), "Ann's tile on the host's page");
      await statusOf(host.page, annEmail, 'accepted');

      // Someone with the plain share link waits in the lobby.
      const gus = await userPage('gus');
      const plain = await openAsGuest(gus.page, `${server.url}/join/${code}`, 'Gus Plain');
      await button(plain, 'Join meeting').click();
      await waitForScreen(gus.page, 'waiting');
      await waitForVisible(host.page, hostPanel(host.page).locator('[data-lobby-entry]', { hasText: 'Gus Plain' }), 'Gus in the lobby');
      await host.page.locator('.toast').waitFor({ state: 'detached' });
      await screenshot(host.page, 'room-host-invitations');
      await host.page.emulateMedia({ colorScheme: 'dark' });
      await screenshot(host.page, 'room-host-invitations-dark');
    },
    stepTimeout,
  );

  test(
    'an invitee with an account signs in from the link, after a reload of the sign-in screen, and comes straight in',
    async () => {
      const host = await signedInHost('Olga Organizer');
      const code = await hostInLockedRoom(host.page, 'Accounts welcome');
      const account = await registerUser(server, { display_name: 'Ada Account', password });
      const inviteUrl = await inviteFromPanel(host.page, account.credentials.email);

      const ada = await userPage('ada');
      const { pathname, search } = new URL(inviteUrl);
      await ada.page.goto(`${server.url}${pathname}${search}`);
      await waitForScreen(ada.page, 'signin');
      expect(ada.page.url()).toBe(`${server.url}/join/${code}`);
      // The token is this tab's, in sessionStorage only, and outlives a reload.
      await ada.page.reload();
      const signin = await waitForScreen(ada.page, 'signin');
      expect(await signin.locator('.lead').textContent()).toContain('You were invited to this meeting.');
      expect(await ada.page.evaluate('Object.keys(localStorage).length')).toBe(0);
      const login = signin.locator('form[data-form=login]');
      await login.getByLabel('Email').fill(account.credentials.email);
      await login.getByLabel('Password').fill(password);
      await button(login, 'Sign in').click();
      await button(await waitForScreen(ada.page, 'prejoin'), 'Join meeting').click();
      await waitForScreen(ada.page, 'room');
      await statusOf(host.page, account.credentials.email, 'accepted');
    },
    stepTimeout,
  );

  test(
    'a revoked invitation shows "revoked", and its link says it is no longer valid and offers to knock instead',
    async () => {
      const host = await signedInHost('Rita Revoker');
      const code = await hostInLockedRoom(host.page, 'Revoked link');
      const boEmail = address('bo');
      const inviteUrl = await inviteFromPanel(host.page, boEmail);
      await statusOf(host.page, boEmail, 'pending');

      await button(invitationOf(host.page, boEmail), 'Revoke').click(); // the confirm() is accepted by openUserPage
      await statusOf(host.page, boEmail, 'revoked');
      expect((await invitationOf(host.page, boEmail).locator('[data-invitation-status]').textContent())!.trim()).toBe('Revoked');
      expect(await button(invitationOf(host.page, boEmail), 'Revoke').count()).toBe(0);
      const listed = (await api(host.actor, 'GET', `/${code}/invitations`)).body.invitations;
      expect(listed).toEqual([expect.objectContaining({ email: boEmail, status: 'revoked', invite_url: null })]);

      const bo = await userPage('bo');
      const prejoin = await openAsGuest(bo.page, inviteUrl, 'Bo Revoked');
      await button(prejoin, 'Join meeting').click();
      const invalid = await waitForScreen(bo.page, 'invitation-invalid');
      expect(await invalid.getByRole('heading', { level: 1 }).textContent()).toBe('This invitation link is no longer valid');
      expect(await invalid.getByRole('alert').getAttribute('data-code')).toBe('INVITATION_INVALID');
      expect(await invalid.getByRole('alert').textContent()).toContain('Ask the host');
      await screenshot(bo.page, 'invitation-invalid');

      // Knocking without it: the lobby, as with the share link.
      await button(invalid, 'Ask to join without it').click();
      await waitForScreen(bo.page, 'waiting');
      await waitForVisible(host.page, hostPanel(host.page).locator('[data-lobby-entry]', { hasText: 'Bo Revoked' }), 'Bo in the lobby');
    },
    stepTimeout,
  );

  test(
    'scheduling with "Invite by email" invites each address once, and shows their links',
    async () => {
      const host = await signedInHost('Sam Scheduler');
      const emails = [address('cy'), address('dee'), address('eve')];
      const form = screenOf(host.page, 'home').locator('form[data-form=schedule]');
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      await form.getByLabel('Meeting name').fill('Planning with guests');
      await form.getByLabel('Starts').fill(`${tomorrow}T10:00`);
      // A typo is caught before the meeting is made: the field is marked, and nothing is scheduled.
      const invite = form.getByLabel('Invite by email (optional)');
      await invite.fill(`${emails[0]}, not-an-address`);
      await button(form, 'Schedule meeting').click();
      const alert = await waitForVisible(host.page, form.getByRole('alert'), 'the error under the schedule form');
      expect(await alert.getAttribute('data-code')).toBe('VALIDATION_FAILED');
      expect((await alert.textContent())!.trim()).toBe('Invite by email must be email addresses, and not-an-address is not');
      expect(await invite.getAttribute('aria-invalid')).toBe('true');
      expect(await invite.evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);
      expect((await api(host.actor, 'GET', '/upcoming')).body.items).toEqual([]);

      await invite.fill(`${emails[0]}, ${emails[1]}\n${emails[2]} ${emails[0]!.toUpperCase()}`);
      await button(form, 'Schedule meeting').click();
      await textOf('the confirmation', form.locator('[data-scheduled]'), (text) => text.startsWith('Scheduled “Planning with guests” for'));
      const links = form.locator('[data-invite-results] li[data-invite-link]');
      try {
        await poll(
          'three invite links',
          () => links.count(),
          (count) => count === 3,
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}; the page shows ${await describePage(host.page)}`, { cause: error });
      }
      expect(await links.evaluateAll((items) => items.map((item) => item.getAttribute('data-email')))).toEqual(emails);
      const item = await waitForVisible(
        host.page,
        screenOf(host.page, 'home').locator('li[data-upcoming-item]', { hasText: 'Planning with guests' }),
        'the meeting under Upcoming',
      );
      const code = (await item.getAttribute('data-room-code'))!;
      const listed = (await api(host.actor, 'GET', `/${code}/invitations`)).body.invitations as { email: string; status: string }[];
      expect(listed.map(({ email, status }) => ({ email, status })).sort((a, b) => a.email.localeCompare(b.email))).toEqual(
        emails.map((email) => ({ email, status: 'pending' })).sort((a, b) => a.email.localeCompare(b.email)),
      );
      await screenshot(host.page, 'home-schedule-invited');
      // Done: the links go, and the focus goes back to the field.
      await button(form.locator('[data-invite-results]'), 'Done').click();
      expect(await links.count()).toBe(0);
      expect(await invite.evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);
    },
    stepTimeout,
  );

  test(
    'with SMTP, the page says the invitations are being emailed, and the list shows each email sent or failed',
    async () => {
      const host = await signedInHost('Mia Mailer', mailServer);
      await hostInLockedRoom(host.page, 'Emailed invitations');
      const [amy, nobody] = [address('amy'), address('nobody')];
      const form = hostPanel(host.page).locator('form[data-form=invite]');
      await form.getByLabel('Invite people by email').fill(`${amy}\n${nobody}`);
      await button(form, 'Invite').click();
      await textOf('the emailing note', form.locator('[data-invite-results] [data-emailed]'), (text) => text === `Emailing 2 invitations: ${amy}, ${nobody}.`);
      // Emailed: no link is shown to pass on.
      expect(await form.locator('[data-invite-results] li[data-invite-link]').count()).toBe(0);
      // The list loads again by itself while an email is queued.
      const fate = (email: string) =>
        poll(
          `the email fate of ${email}`,
          () => invitationOf(host.page, email).locator('[data-email-status]').getAttribute('data-email-status', { timeout: 1_000 }),
          (status) => status !== 'pending',
          { timeoutMs: 30_000, intervalMs: 200 },
        );
      expect(await fate(amy)).toBe('sent');
      expect(await fate(nobody)).toBe('failed');
      expect((await invitationOf(host.page, amy).locator('[data-email-status]').textContent())!.trim()).toBe('Emailed');
      expect((await invitationOf(host.page, nobody).locator('[data-email-status]').textContent())!.trim()).toMatch(/^Email failed: 550\b.*No such mailbox/);
      expect(smtp.to(amy)).toHaveLength(1);
      await screenshot(host.page, 'room-host-invitations-emailed');
    },
    stepTimeout,
  );
});
