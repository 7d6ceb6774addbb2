import type { Browser, Locator, Page } from 'playwright-core';
import type { SessionView } from '../../src/contract/schemas';
import { openUserPage, poll, screenOf, waitForScreen, type UserPage } from './browser';

/**
 * Calls on the meeting page, seen from the test: a person's page with its RTCPeerConnections
 * recorded (window.__pcs, by an init script), and what arrives through them. Media is proven by
 * what arrives, never by the absence of errors: the remote <video> has frames (videoWidth,
 * advancing currentTime) and getStats' inbound-rtp bytes and decoded frames grow.
 */

const sessionKey = 'meeting-rooms.session';

/** Records every RTCPeerConnection the page makes, in order, and the ICE candidate errors they report (window.__iceErrors). */
const recordPeerConnections = `
  window.__pcs = [];
  window.__iceErrors = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
      this.addEventListener('icecandidateerror', (event) => window.__iceErrors.push({ url: event.url, errorCode: event.errorCode, errorText: event.errorText }));
    }
  };
`;

/**
 * Makes every RTCPeerConnection of the page gather relay candidates only (iceTransportPolicy
 * "relay"), as an application that wants every call through its TURN server would configure it.
 */
const relayOnly = `
  const Recorded = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Recorded {
    constructor(config, ...rest) {
      super({ ...config, iceTransportPolicy: 'relay' }, ...rest);
    }
  };
`;

export interface CallPageOptions {
  /** Force every connection of the page through TURN relays. */
  relayOnly?: boolean;
}

/** A signed-in person's page (the session put where the page keeps it), with its peer connections recorded. */
export async function openCallPage(browser: Browser, session: SessionView, label: string, options: CallPageOptions = {}): Promise<UserPage> {
  const user = await openUserPage(browser, label);
  const init = [
    `sessionStorage.setItem(${JSON.stringify(sessionKey)}, ${JSON.stringify(JSON.stringify(session))});`,
    recordPeerConnections,
    options.relayOnly ? relayOnly : '',
  ];
  await user.page.addInitScript({ content: init.join('\n') });
  return user;
}

/** Opens the share link on `baseUrl` and presses "Join meeting" once the camera shows; waits for `screen`. */
export async function joinFromPage(page: Page, baseUrl: string, roomCode: string, screen: 'room' | 'waiting'): Promise<void> {
  await page.goto(`${baseUrl}/join/${roomCode}`);
  const prejoin = await waitForScreen(page, 'prejoin');
  await poll(
    'the camera ready',
    () => prejoin.locator('[data-media-status]').textContent(),
    (text) => text === 'Camera and microphone ready',
  );
  await prejoin.getByRole('button', { name: 'Join meeting', exact: true }).click();
  await waitForScreen(page, screen);
}

export const tileOf = (page: Page, userId: string): Locator => screenOf(page, 'room').locator(`[data-tile][data-user-id="${userId}"]`);

/** What one page receives from one other person, read through their tile's <video>. */
export interface Received {
  videoWidth: number;
  currentTime: number;
  audioBytes: number;
  videoBytes: number;
  framesDecoded: number;
  /** Index in window.__pcs of the connection carrying it. */
  pc: number;
  state: string;
}

/** Reads the tile of `userId` on `page`: the video element's frames, and the stats of the connection whose tracks it plays. */
export const received = (page: Page, userId: string) =>
  page.evaluate(`(async () => {
    const video = document.querySelector('[data-tile][data-user-id="${userId}"] video[data-remote]');
    if (!video || !video.srcObject) throw new Error('no remote video in the tile');
    const ids = new Set(video.srcObject.getTracks().map((track) => track.id));
    const out = { videoWidth: video.videoWidth, currentTime: video.currentTime, audioBytes: 0, videoBytes: 0, framesDecoded: 0, pc: -1, state: '' };
    for (const [index, pc] of window.__pcs.entries()) {
      if (!pc.getReceivers().some((receiver) => ids.has(receiver.track.id))) continue;
      out.pc = index;
      out.state = pc.connectionState;
      (await pc.getStats()).forEach((report) => {
        if (report.type !== 'inbound-rtp' || !ids.has(report.trackIdentifier)) return;
        if (report.kind === 'audio') out.audioBytes += report.bytesReceived;
        else (out.videoBytes += report.bytesReceived), (out.framesDecoded += report.framesDecoded || 0);
      });
    }
    return out;
  })()`) as Promise<Received>;

/** The states of every RTCPeerConnection the page made. */
export const connectionStates = (page: Page) => page.evaluate('window.__pcs.map((pc) => pc.connectionState)') as Promise<string[]>;

/** The ICE candidate errors the page's connections reported (a STUN error code such as 401 from a TURN server, or 701: unreachable). */
export const iceErrors = (page: Page) => page.evaluate('window.__iceErrors') as Promise<{ url: string; errorCode: number; errorText: string }[]>;

/** For each connection of the page: how far candidate gathering went, and how many local candidates it gathered. */
export const gathering = (page: Page) =>
  page.evaluate(`Promise.all(window.__pcs.map(async (pc) => {
    let candidates = 0;
    (await pc.getStats()).forEach((report) => report.type === 'local-candidate' && (candidates += 1));
    return { state: pc.iceGatheringState, candidates };
  }))`) as Promise<{ state: string; candidates: number }[]>;

/** For each connection of the page: the candidate types (host, srflx, relay) of its selected pair, local and remote, or null before one is selected. */
export const selectedCandidateTypes = (page: Page) =>
  page.evaluate(`Promise.all(window.__pcs.map(async (pc) => {
    const reports = new Map();
    (await pc.getStats()).forEach((report) => reports.set(report.id, report));
    const transport = [...reports.values()].find((report) => report.type === 'transport' && report.selectedCandidatePairId);
    const pair = transport && reports.get(transport.selectedCandidatePairId);
    return pair ? { local: reports.get(pair.localCandidateId).candidateType, remote: reports.get(pair.remoteCandidateId).candidateType } : null;
  }))`) as Promise<({ local: string; remote: string } | null)[]>;

/**
 * Waits until `page` shows `from`'s camera, then checks that video and sound keep arriving from
 * them on the same connection. `diagnose`: the pages whose connections to describe if it never comes.
 */
export async function expectMediaFrom(page: Page, from: string, what: string, diagnose: Page[] = [page]): Promise<Received> {
  let first: Received;
  try {
    first = await poll(
      `${what}: the remote video showing frames`,
      () => received(page, from),
      (seen) => seen.videoWidth > 0 && seen.state === 'connected',
      { timeoutMs: 20_000 },
    );
  } catch (error) {
    // Where each page's connections are (signaling, connection, ICE, descriptions).
    const states = await Promise.all(
      diagnose.map((other) =>
        other
          .evaluate(
            'window.__pcs.map((pc) => [pc.signalingState, pc.connectionState, pc.iceConnectionState, pc.localDescription && pc.localDescription.type, pc.remoteDescription && pc.remoteDescription.type])',
          )
          .catch(String),
      ),
    );
    throw new Error(`${String(error)}\nconnections per page: ${JSON.stringify(states)}`, { cause: error });
  }
  // Media keeps coming: every counter grows past the first sample. Polled for up to 10 s rather
  // read once after a second, because on a loaded two-core machine a sender's encoder can skip
  // video for a second (seen in CI: sound growing, video not, on the third page of a call).
  const grown = (now: Received) => ({
    audioBytes: now.audioBytes > first.audioBytes,
    videoBytes: now.videoBytes > first.videoBytes,
    framesDecoded: now.framesDecoded > first.framesDecoded,
    currentTime: now.currentTime > first.currentTime,
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  let later = await received(page, from);
  const deadline = Date.now() + 10_000;
  while (Object.values(grown(later)).includes(false) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    later = await received(page, from);
  }
  expect({ what, growing: grown(later) }).toEqual({ what, growing: { audioBytes: true, videoBytes: true, framesDecoded: true, currentTime: true } });
  expect(later.pc).toBe(first.pc);
  return later;
}
