import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';

/**
 * Real Chromium for the browser tests: Debian's `chromium` package (scripts/services.sh installs
 * it when missing), driven by playwright-core. No browser is ever downloaded.
 *
 * Media is faked by Chromium itself: `--use-fake-device-for-media-stream` gives a fake camera
 * (a moving test pattern) and microphone, and `--use-file-for-fake-audio-capture` makes that
 * microphone play a WAV file, looped (LaunchOptions.devices takes the camera, or both, away). Permission is either granted with no prompt
 * (`--use-fake-ui-for-media-stream`) or refused: without that flag and with
 * `--deny-permission-prompts`, getUserMedia rejects with `NotAllowedError` ("Permission denied")
 * and `navigator.permissions` reports camera and microphone `denied` (test/browser/chromium.test.ts
 * checks both).
 *
 * WebRTC between pages (test/browser/calls.test.ts) needs two more flags, found by connecting two
 * pages' RTCPeerConnections with host candidates only (no STUN/TURN) and watching getStats and a
 * remote <video> (chromium.test.ts keeps that check):
 * - `--allow-loopback-in-peer-connection`: Chromium never gathers 127.0.0.1/::1 candidates
 *   otherwise. On a machine whose only interface is `lo` (tried in an `unshare -n` namespace) no
 *   candidate at all is gathered and ICE stays `new`; with the flag, media flows over 127.0.0.1.
 * - `--disable-features=WebRtcHideLocalIpsWithMdns`: a page without camera/microphone permission
 *   offers `<uuid>.local` mDNS names instead of its addresses, which only resolve where multicast
 *   DNS works (not in every container). With `--use-fake-ui-for-media-stream` the permission is
 *   granted anyway and real addresses are offered; the flag makes `media: 'denied'`/`'prompt'`
 *   pages do the same. (Without permission Chromium also gathers only the default route's
 *   address, so on a loopback-only machine such a page still gets no candidate.)
 * Nothing else is needed: no STUN server, no `--disable-web-security`; the fake camera's test
 * pattern (640×480) is what remote <video>s show. (A machine with a real interface, as the dev
 * box with eth0 192.0.2.2, connects without either flag; they cost nothing there.)
 */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface LaunchOptions {
  /** A WAV file the fake microphone plays, looped (see writeToneWav, writeSilenceWav). Default: Chromium's own beep. */
  audioWav?: string;
  /**
   * `granted` (default): getUserMedia succeeds with no prompt. `denied`: it fails with
   * NotAllowedError. `prompt`: it asks, and headless Chromium has nobody to answer; but it may
   * dismiss the prompt by itself (seen on a busy machine: NotAllowedError after a few seconds),
   * so a test that needs the request to stay open also calls holdMediaRequests(page).
   */
  media?: 'granted' | 'denied' | 'prompt';
  /**
   * Which fake devices exist. `all` (default): a camera and a microphone. `no-camera`: only
   * microphones (`--use-fake-device-for-media-stream=device-count=0`: no video capture device).
   * `none`: no fake devices at all, and this machine has no real ones: getUserMedia fails with
   * NotFoundError.
   */
  devices?: 'all' | 'no-camera' | 'none';
}

const browsers = new Set<Browser>();
const tempDirs = new Set<string>();

/** Launches headless Chromium with fake media devices; closeBrowsers() closes it. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  const devices = options.devices ?? 'all';
  const args = [
    '--no-sandbox', // the tests run as root
    ...(devices === 'all' ? ['--use-fake-device-for-media-stream'] : devices === 'no-camera' ? ['--use-fake-device-for-media-stream=device-count=0'] : []),
    '--autoplay-policy=no-user-gesture-required',
    ...(options.media === 'denied' ? ['--deny-permission-prompts'] : options.media === 'prompt' ? [] : ['--use-fake-ui-for-media-stream']),
    ...(options.audioWav ? [`--use-file-for-fake-audio-capture=${options.audioWav}`] : []),
    // Peer connections between pages on this one machine (see above): loopback candidates, and real addresses instead of mDNS names.
    '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ];
  const browser = await chromium.launch({ executablePath: chromiumPath, args });
  browsers.add(browser);
  browser.on('disconnected', () => browsers.delete(browser));
  return browser;
}

/**
 * Makes every getUserMedia of the page's documents wait forever, as a permission prompt nobody
 * answers does: what the page shows while the browser still asks. Call before the page navigates.
 */
export async function holdMediaRequests(page: Page): Promise<void> {
  await page.addInitScript({ content: 'navigator.mediaDevices.getUserMedia = () => new Promise(() => {});' });
}

/** Closes every browser launched by this module and removes the temporary directories: call it in afterAll. */
export async function closeBrowsers(): Promise<void> {
  await Promise.allSettled([...browsers].map((browser) => browser.close()));
  browsers.clear();
  await Promise.allSettled([...tempDirs].map((dir) => rm(dir, { recursive: true, force: true })));
  tempDirs.clear();
}

/** A temporary directory of one's own, removed by closeBrowsers(). */
export async function makeTempDir(label = 'browser'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `meeting-${label}-`));
  tempDirs.add(dir);
  return dir;
}

// ---- Fake microphone input ------------------------------------------------------------------

export const wavSampleRate = 48_000;

/** Writes `samples` (-1…1) as a WAV file: 16-bit PCM, mono, 48 kHz by default. */
export async function writeWav(file: string, samples: Float32Array, sampleRate = wavSampleRate): Promise<string> {
  const dataBytes = samples.length * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28); // bytes per second
  wav.writeUInt16LE(2, 32); // bytes per frame
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i += 1) {
    wav.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767), 44 + i * 2);
  }
  await writeFile(file, wav);
  return file;
}

export interface ToneOptions {
  hz?: number;
  amplitude?: number;
  silenceBeforeS?: number;
  toneS?: number;
  silenceAfterS?: number;
}

/**
 * A speaking participant: silence, a sine tone (440 Hz at amplitude 0.5, about -9 dBFS before
 * Chromium's own audio processing), silence. Chromium loops the file, so the level goes up and
 * down for as long as the test runs.
 */
export function toneSamples({ hz = 440, amplitude = 0.5, silenceBeforeS = 0.3, toneS = 4, silenceAfterS = 0.3 }: ToneOptions = {}): Float32Array {
  const start = Math.round(silenceBeforeS * wavSampleRate);
  const end = start + Math.round(toneS * wavSampleRate);
  const samples = new Float32Array(end + Math.round(silenceAfterS * wavSampleRate));
  for (let i = start; i < end; i += 1) samples[i] = amplitude * Math.sin((2 * Math.PI * hz * (i - start)) / wavSampleRate);
  return samples;
}

export const writeToneWav = (dir: string, options?: ToneOptions) => writeWav(path.join(dir, 'tone.wav'), toneSamples(options));

/** A listener: digital silence (the level meter reads -127). */
export const writeSilenceWav = (dir: string, seconds = 1) => writeWav(path.join(dir, 'silence.wav'), new Float32Array(Math.round(seconds * wavSampleRate)));

// ---- Pages ----------------------------------------------------------------------------------

export const screenshotDir = () => path.resolve(process.env.SCREENSHOT_DIR ?? 'test-results/screenshots');

/** Saves the page as `<name>.png` in SCREENSHOT_DIR (default test-results/screenshots). */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = screenshotDir();
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A page of one's own user (in its own browser context), with what went wrong in it. */
export interface UserPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions, unhandled rejections and Content-Security-Policy violations in the page. */
  errors: string[];
  /** `console.error` messages and failed requests, for diagnosis. */
  log: string[];
}

/** `options` adds to the context's (a `timezoneId` and `locale`, say). */
export async function openUserPage(browser: Browser, label: string, options: BrowserContextOptions = {}): Promise<UserPage> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, ...options });
  // Every step waits for something concrete; 15 s is far more than any of them needs.
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors: string[] = [];
  const log: string[] = [];
  page.on('pageerror', (error) => errors.push(`[${label}] ${error.name}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // Chromium logs every 4xx/5xx response as "Failed to load resource"; the page expects some (404 for an unknown room).
    if (message.text().startsWith('Failed to load resource')) return;
    if (/Content Security Policy/i.test(message.text())) errors.push(`[${label}] CSP violation: ${message.text()}`);
    else log.push(`[${label}] console.error: ${message.text()}`);
  });
  page.on('requestfailed', (request) => log.push(`[${label}] request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ''}`));
  // A confirm() before ending a meeting, say: accepted, and noted.
  page.on('dialog', (dialog) => {
    log.push(`[${label}] dialog ${dialog.type()}: ${dialog.message()}`);
    void dialog.accept();
  });
  return { context, page, errors, log };
}

/** The page's current screen: `<main data-screen="NAME">`. */
export const screenOf = (page: Page, name: string): Locator => page.locator(`main[data-screen="${name}"]`);

/** What the page shows now: its screen name and any error alerts, for failure messages. */
export async function describePage(page: Page): Promise<string> {
  try {
    const screens = await page.locator('main[data-screen]').evaluateAll((elements) => elements.map((element) => element.getAttribute('data-screen')));
    const alerts = await page
      .locator('[role=alert]')
      .evaluateAll((elements) => elements.map((element) => `${element.getAttribute('data-code')}: ${element.textContent}`));
    return `url ${page.url()}, screen ${JSON.stringify(screens)}${alerts.length ? `, alerts ${JSON.stringify(alerts)}` : ''}`;
  } catch (error) {
    return `url ${page.url()} (could not read the page: ${String(error)})`;
  }
}

/** Waits for the page to show screen `name`; the failure says what it shows instead. */
export async function waitForScreen(page: Page, name: string, timeoutMs = 15_000): Promise<Locator> {
  const screen = screenOf(page, name);
  try {
    await screen.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    throw new Error(`expected screen "${name}" within ${timeoutMs} ms; the page shows ${await describePage(page)}`);
  }
  return screen;
}

/** Waits for `locator` to be visible; the failure names `what` and what the page shows. */
export async function waitForVisible(page: Page, locator: Locator, what: string, timeoutMs = 15_000): Promise<Locator> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    throw new Error(`expected ${what} within ${timeoutMs} ms; the page shows ${await describePage(page)}`);
  }
  return locator;
}

/**
 * Calls `probe` every `intervalMs` until `accept` says yes, and returns that value; otherwise
 * fails after `timeoutMs` with `what` and the last value (or error) seen.
 */
export async function poll<T>(
  what: string,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  { timeoutMs = 15_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: string;
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = JSON.stringify(value);
    } catch (error) {
      last = `error ${String(error)}`;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Closes a test's pages (and empties the list), prints what they logged, and returns the errors
 * they had: uncaught exceptions, unhandled rejections and CSP violations are bugs even if every
 * step passed, so an afterEach expects none.
 */
export async function closeUserPages(pages: UserPage[]): Promise<string[]> {
  const errors = pages.flatMap((user) => user.errors);
  const log = pages.flatMap((user) => user.log);
  await Promise.allSettled(pages.map((user) => user.context.close()));
  pages.length = 0;
  if (log.length) console.log(`browser log:\n${log.join('\n')}`);
  return errors;
}
