import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import type { SessionView } from '../src/contract/schemas';
import { call, createRoom } from './lib/api';
import { startServerNode } from './lib/processes';
import { prepareDatabase, startRedis } from './lib/services';
import { closeBrowsers, launchBrowser, poll } from '../test/support/browser';
import { connectionStates, joinFromPage, openCallPage } from '../test/support/call-page';

/**
 * `npm run build && npx tsx bench/mesh.ts [largest=6]`: what a mesh call costs as it grows, for
 * choosing MESH_MAX_PARTICIPANTS (docs/calls.md). For n = 2…largest people, n meeting pages in
 * one headless Chromium (fake 640×480 camera) join one room of one node; once every page receives
 * every other, it reads for 10 s: the machine's busy cores (/proc/stat; the pages are the load),
 * the frames each page decodes per remote stream, and the share of sent video streams that WebRTC
 * itself reports as limited by CPU (`qualityLimitationReason`), with the height they were sent at.
 * All n "laptops" share this machine's cores, so the cost per person is the figure to read.
 */
const largest = Number(process.argv[2] ?? 6);
const windowMs = 10_000;

interface MediaCounters {
  decoded: number[];
  encoded: { frames: number; bytes: number; cpuLimited: boolean; height: number }[];
}

/** Per connection of the page: frames decoded (inbound video), and per sent video stream its frames, limitation and height. */
const counters = (page: Page) =>
  page.evaluate(`(async () => {
    const out = { decoded: [], encoded: [] };
    for (const pc of window.__pcs) {
      if (pc.connectionState !== 'connected') continue;
      (await pc.getStats()).forEach((report) => {
        if (report.kind !== 'video') return;
        if (report.type === 'inbound-rtp') out.decoded.push(report.framesDecoded || 0);
        if (report.type === 'outbound-rtp') out.encoded.push({ frames: report.framesEncoded || 0, bytes: report.bytesSent || 0, cpuLimited: report.qualityLimitationReason === 'cpu', height: report.frameHeight || 0 });
      });
    }
    return out;
  })()`) as Promise<MediaCounters>;

function cpuTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = fields[3]! + fields[4]!; // idle + iowait
  return { busy: total - idle, total };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** A guest's whole session, as the page keeps it. */
const guestSession = (base: string, name: string) => call<SessionView>(base, 'POST', '/auth/guest', undefined, { display_name: name });

async function measure(base: string, n: number) {
  const host = await call<SessionView>(base, 'POST', '/auth/register', undefined, {
    email: `mesh-${randomBytes(6).toString('hex')}@example.test`,
    password: 'correct horse battery',
    display_name: 'Bench host',
  });
  const code = await createRoom(base, { token: host.access_token, userId: host.user.id }, { lock_room: false });
  const people = [host, ...(await Promise.all(Array.from({ length: n - 1 }, (_, i) => guestSession(base, `Guest ${i + 1}`))))];
  const browser = await launchBrowser();
  const pages: Page[] = [];
  const started = Date.now();
  for (const [i, person] of people.entries()) {
    const user = await openCallPage(browser, person, `p${i}`);
    await joinFromPage(user.page, base, code, 'room');
    pages.push(user.page);
  }
  for (const page of pages) {
    await poll(
      'the full mesh',
      () => connectionStates(page),
      (states) => states.filter((state) => state === 'connected').length === n - 1,
      { timeoutMs: 120_000 },
    );
  }
  const meshSeconds = (Date.now() - started) / 1000;
  await sleep(3_000); // past the first keyframes and bandwidth ramp
  const before = await Promise.all(pages.map(counters));
  const cpuBefore = cpuTicks();
  await sleep(windowMs);
  const cpuAfter = cpuTicks();
  const after = await Promise.all(pages.map(counters));
  await browser.close();

  const fps = after.flatMap((page, p) => page.decoded.map((frames, i) => (frames - (before[p]!.decoded[i] ?? 0)) / (windowMs / 1000)));
  const sent = after.flatMap((page) => page.encoded);
  // What one person uploads: the video of all their streams, in Mbit/s (each sent stream is one other person).
  const uploadMbps = after.map(
    (page, p) => (page.encoded.reduce((sum, stream, i) => sum + stream.bytes - (before[p]!.encoded[i]?.bytes ?? 0), 0) * 8) / (windowMs / 1000) / 1e6,
  );
  const busyCores =
    ((cpuAfter.busy - cpuBefore.busy) / (cpuAfter.total - cpuBefore.total)) * (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 1);
  return {
    n,
    meshSeconds,
    busyCores,
    coresPerPerson: busyCores / n,
    streams: fps.length,
    fpsMin: Math.min(...fps),
    fpsMedian: median(fps),
    cpuLimited: sent.filter((stream) => stream.cpuLimited).length / Math.max(1, sent.length),
    sentHeightMedian: median(sent.map((stream) => stream.height)),
    uploadMbpsMedian: median(uploadMbps),
  };
}

async function main(): Promise<void> {
  await prepareDatabase();
  const stopRedis = await startRedis();
  const node = await startServerNode({ JWT_SECRET: randomBytes(32).toString('base64url') });
  const rows = [];
  try {
    for (let n = 2; n <= largest; n += 1) {
      const row = await measure(node.url, n);
      console.error(`[mesh] ${JSON.stringify(row)}`);
      rows.push(row);
    }
  } finally {
    await closeBrowsers();
    await node.stop();
    await stopRedis();
  }
  console.log(
    '\n| people | mesh up (s) | busy cores | cores per person | remote video streams | fps per stream (min / median) | sent streams CPU-limited | sent height (median) | video upload per person (Mbit/s, median) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.n} | ${r.meshSeconds.toFixed(1)} | ${r.busyCores.toFixed(2)} | ${r.coresPerPerson.toFixed(2)} | ${r.streams} | ${r.fpsMin.toFixed(1)} / ${r.fpsMedian.toFixed(1)} | ${(r.cpuLimited * 100).toFixed(0)} % | ${r.sentHeightMedian} | ${r.uploadMbpsMedian.toFixed(2)} |`,
    );
  }
}

void main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
