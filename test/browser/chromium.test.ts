import type { Browser, Page } from 'playwright-core';
import { closeBrowsers, launchBrowser, makeTempDir, writeSilenceWav, writeToneWav } from '../support/browser';

/**
 * The browser tests' setup itself, with no server: Chromium starts, its fake microphone plays our
 * WAV files into getUserMedia (read with WebAudio, as the page's level meter does), the "denied"
 * launch really makes getUserMedia fail the way a blocked permission does, and the launches
 * without a camera or without any device really lack them.
 */

/** getUserMedia needs a secure context: http://localhost is one, served here by Playwright itself. */
async function openSecurePage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  await page.route('http://localhost/**', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>blank</title>' }));
  await page.goto('http://localhost/');
  return page;
}

/** The microphone's level in dBFS, read like src/client/level-meter.ts: every 100 ms for `ms`. */
const readLevels = (page: Page, ms: number) =>
  page.evaluate(`(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const levels = [];
    for (let t = 0; t < ${ms}; t += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      const rms = Math.sqrt(sum / samples.length);
      levels.push(rms > 0 ? Math.max(-127, 20 * Math.log10(rms)) : -127);
    }
    stream.getTracks().forEach((track) => track.stop());
    await context.close();
    return levels;
  })()`) as Promise<number[]>;

describe('Chromium with fake media', () => {
  afterEach(closeBrowsers);

  test('the fake microphone plays the tone WAV, looped: loud while the tone plays, silent in its gaps', async () => {
    const browser = await launchBrowser({ audioWav: await writeToneWav(await makeTempDir('chromium')) });
    const page = await openSecurePage(browser);
    // 6 s covers one whole 4.6 s loop of the file and the start of the next.
    const levels = await readLevels(page, 6_000);
    const loud = levels.filter((level) => level > -40);
    const quiet = levels.filter((level) => level < -60);
    expect(loud.length).toBeGreaterThan(levels.length / 2);
    expect(Math.max(...levels)).toBeGreaterThan(-20);
    expect(quiet.length).toBeGreaterThan(0); // the silence around the tone
    // Tone, gap, tone again: the file loops.
    const pattern = levels.map((level) => (level > -40 ? 'L' : level < -60 ? 'q' : '-')).join('');
    expect(pattern).toMatch(/L+-*q+-*L/);
  }, 30_000);

  test('the silence WAV reads as silence', async () => {
    const browser = await launchBrowser({ audioWav: await writeSilenceWav(await makeTempDir('chromium')) });
    const page = await openSecurePage(browser);
    const levels = await readLevels(page, 1_500);
    expect(Math.max(...levels)).toBeLessThan(-90);
  }, 30_000);

  test('launched with media denied, getUserMedia fails with NotAllowedError and the permissions say denied', async () => {
    const browser = await launchBrowser({ media: 'denied' });
    const page = await openSecurePage(browser);
    const outcome = await page.evaluate(
      `navigator.mediaDevices.getUserMedia({ audio: true, video: true }).then((stream) => 'granted ' + stream.getTracks().length, (error) => error.name)`,
    );
    expect(outcome).toBe('NotAllowedError');
    const states = await page.evaluate(`Promise.all(['camera', 'microphone'].map((name) => navigator.permissions.query({ name }).then((p) => p.state)))`);
    expect(states).toEqual(['denied', 'denied']);
  }, 30_000);

  test.each([
    ['no-camera', { both: 'NotFoundError', audio: 'granted audio', video: 'NotFoundError' }],
    ['none', { both: 'NotFoundError', audio: 'NotFoundError', video: 'NotFoundError' }],
  ] as const)('launched with devices "%s", getUserMedia finds only what exists', async (devices, expected) => {
    const browser = await launchBrowser({ devices });
    const page = await openSecurePage(browser);
    const ask = (constraints: string) =>
      page.evaluate(`navigator.mediaDevices.getUserMedia(${constraints}).then((stream) => 'granted ' + stream.getTracks().map((track) => track.kind).join(' '), (error) => error.name)`);
    expect({ both: await ask('{ audio: true, video: true }'), audio: await ask('{ audio: true }'), video: await ask('{ video: true }') }).toEqual(expected);
  }, 30_000);
});
