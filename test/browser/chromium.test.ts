import type { Browser, Page } from 'playwright-core';
import { closeBrowsers, launchBrowser, makeTempDir, writeSilenceWav, writeToneWav } from '../support/browser';

/**
 * The browser tests' setup itself, with no server: Chromium starts, its fake microphone plays our
 * WAV files into getUserMedia (read with WebAudio, as the page's level meter does), the "denied"
 * launch really makes getUserMedia fail the way a blocked permission does, and the launches
 * without a camera or without any device really lack them, and two browsers' pages connect a
 * WebRTC call with host candidates only and receive each other's fake camera and microphone.
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

/** A page with a call of its own: its fake camera and microphone on an RTCPeerConnection, a <video> for the far end. */
async function openCallPage(browser: Browser): Promise<Page> {
  const page = await openSecurePage(browser);
  await page.evaluate(`(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const pc = (window.pc = new RTCPeerConnection());
    window.candidates = [];
    pc.onicecandidate = (event) => event.candidate && window.candidates.push(event.candidate.toJSON());
    const video = document.body.appendChild(document.createElement('video'));
    video.autoplay = video.muted = video.playsInline = true;
    pc.ontrack = (event) => (video.srcObject = event.streams[0]);
    stream.getTracks().forEach((track) => pc.addTrack(track, stream));
  })()`);
  return page;
}

interface CallStats {
  state: string;
  audioBytes: number;
  videoBytes: number;
  framesDecoded: number;
  videoWidth: number;
  currentTime: number;
}

const callStats = (page: Page) =>
  page.evaluate(`(async () => {
    const out = { state: pc.connectionState, audioBytes: 0, videoBytes: 0, framesDecoded: 0 };
    (await pc.getStats()).forEach((report) => {
      if (report.type !== 'inbound-rtp') return;
      out[report.kind + 'Bytes'] += report.bytesReceived;
      if (report.kind === 'video') out.framesDecoded += report.framesDecoded;
    });
    const video = document.querySelector('video');
    return { ...out, videoWidth: video.videoWidth, currentTime: video.currentTime };
  })()`) as Promise<CallStats>;

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
  ] as const)(
    'launched with devices "%s", getUserMedia finds only what exists',
    async (devices, expected) => {
      const browser = await launchBrowser({ devices });
      const page = await openSecurePage(browser);
      const ask = (constraints: string) =>
        page.evaluate(
          `navigator.mediaDevices.getUserMedia(${constraints}).then((stream) => 'granted ' + stream.getTracks().map((track) => track.kind).join(' '), (error) => error.name)`,
        );
      expect({ both: await ask('{ audio: true, video: true }'), audio: await ask('{ audio: true }'), video: await ask('{ video: true }') }).toEqual(expected);
    },
    30_000,
  );

  test('two browsers call each other over host candidates: audio and video bytes flow, frames decode, the remote <video> plays', async () => {
    const dir = await makeTempDir('chromium');
    const [browserA, browserB] = await Promise.all([launchBrowser({ audioWav: await writeToneWav(dir) }), launchBrowser()]);
    const [a, b] = await Promise.all([openCallPage(browserA), openCallPage(browserB)]);
    const offer = await a.evaluate(`pc.setLocalDescription().then(() => pc.localDescription.toJSON())`);
    const answer = await b.evaluate(
      `pc.setRemoteDescription(${JSON.stringify(offer)}).then(() => pc.setLocalDescription()).then(() => pc.localDescription.toJSON())`,
    );
    await a.evaluate(`pc.setRemoteDescription(${JSON.stringify(answer)})`);
    // Trickle ICE, relayed by hand until both ends are connected.
    const types = new Set<string>();
    for (let tries = 0; ; tries += 1) {
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as [Page, Page][]) {
        const candidates = (await from.evaluate('window.candidates.splice(0)')) as { candidate: string }[];
        for (const candidate of candidates) {
          types.add(/ typ (\w+)/.exec(candidate.candidate)?.[1] ?? '?');
          await to.evaluate(`pc.addIceCandidate(${JSON.stringify(candidate)})`);
        }
      }
      const states = [(await callStats(a)).state, (await callStats(b)).state];
      if (states.every((state) => state === 'connected')) break;
      if (tries > 100) throw new Error(`not connected after 10 s: ${states.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect([...types]).toEqual(['host']); // no STUN, no TURN: the machine's own addresses
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = await Promise.all([callStats(a), callStats(b)]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = await Promise.all([callStats(a), callStats(b)]);
    for (const i of [0, 1]) {
      expect(after[i]!.audioBytes).toBeGreaterThan(before[i]!.audioBytes);
      expect(after[i]!.videoBytes).toBeGreaterThan(before[i]!.videoBytes);
      expect(after[i]!.framesDecoded).toBeGreaterThan(before[i]!.framesDecoded + 5);
      expect(after[i]!.videoWidth).toBeGreaterThan(0);
      expect(after[i]!.currentTime).toBeGreaterThan(before[i]!.currentTime);
    }
  }, 30_000);
});
