import type { RtcSignal as RtcSignalEvent } from '../contract/events';

/** What one signal carries: a description, or a candidate (null: no more candidates). */
export type RtcSignal = Pick<RtcSignalEvent, 'description' | 'candidate'>;

/** The local tracks a call sends; null for a device this browser does not have (or was not granted). */
export interface LocalTracks {
  audio: MediaStreamTrack | null;
  video: MediaStreamTrack | null;
}

export interface PeerOptions {
  remoteId: string;
  /** The polite side gives way when both offer at once ("perfect negotiation"). */
  polite: boolean;
  iceServers: RTCIceServer[];
  local: LocalTracks;
  /** Sends a signal to the remote user; resolves false when it could not be delivered. */
  send(signal: RtcSignal): Promise<boolean>;
  /** The remote stream got or lost a track, or the connection state changed. */
  changed(): void;
}

/** How long ICE may stay `disconnected` before it is restarted (it often recovers by itself). */
const disconnectedGraceMs = 2_000;

/**
 * How long a new polite peer waits for the other side's first offer before it offers itself. The
 * impolite side offers first, so two new connections never both offer: perfect negotiation would
 * settle who wins, but Chromium (156) then often gathers no candidate on the side whose offer was
 * rolled back, and the call stays at ICE `new` (seen in about one run in three of calls.test.ts).
 * The wait ends early when the offer comes; it runs out when the other side kept an old
 * connection (this page is the user's new tab or a reload), and then the other side learns from
 * the new fingerprint (mesh.ts).
 */
const firstOfferWaitMs = 3_000;

/**
 * An offer nobody answered (lost, or sent to a page that is gone): rolled back and made again
 * after this long, so neither side waits forever for an answer the other will not send.
 */
const unansweredOfferMs = 5_000;
/** An offer the server could not deliver (they had not attached yet): tried again after this long. */
const undeliveredRetryMs = 1_000;

/** How long the polite side leaves a failed call to the impolite side's ICE restart before it restarts itself. */
const politeRestartAfterMs = 5_000;

/** The DTLS fingerprint of a description: another one means another page (a reload, a new tab) of the same user. */
export const fingerprintOf = (sdp: string | undefined): string | null => /^a=fingerprint:(.+)$/m.exec(sdp ?? '')?.[1]?.trim() ?? null;

/**
 * The call with one other participant: one RTCPeerConnection, negotiated the "perfect
 * negotiation" way (either side may offer at any time; on a collision the impolite side's offer
 * wins), candidates trickled through the room server. Media never goes through the server.
 */
export class Peer {
  readonly remoteId: string;
  readonly pc: RTCPeerConnection;
  /** What the remote user sends: their microphone and camera tracks, as they arrive. */
  readonly stream = new MediaStream();
  private readonly options: PeerOptions;
  private makingOffer = false;
  private ignoreOffer = false;
  private closed = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  /** False on the polite side until the first description came (or the wait ran out): it does not offer before. */
  private started: boolean;
  private firstOfferTimer: ReturnType<typeof setTimeout> | undefined;
  private offerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set when an offer could not be delivered: the negotiation must start again once they are back. */
  undelivered = false;

  constructor(options: PeerOptions) {
    this.options = options;
    this.remoteId = options.remoteId;
    this.pc = new RTCPeerConnection({ iceServers: options.iceServers });
    const pc = this.pc;
    // addTrack: the answering side's senders then pair with the offer's m-lines. A missing device
    // still asks to receive, so a page with no camera or microphone can start a call too.
    for (const kind of ['audio', 'video'] as const) {
      const track = options.local[kind];
      if (track) pc.addTrack(track);
      else pc.addTransceiver(kind, { direction: 'recvonly' });
    }
    this.started = !options.polite;
    if (!this.started) this.firstOfferTimer = setTimeout(() => this.start(true), firstOfferWaitMs);
    // Before it started, the polite side's needs are met by the answer to the first offer (or by its own, after the wait).
    pc.onnegotiationneeded = () => this.started && void this.offer();
    pc.onicecandidate = ({ candidate: c }) => {
      // Only the fields the server takes (it refuses unknown ones).
      const candidate = c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment } : null;
      void this.options.send({ candidate }).catch(() => undefined);
    };
    pc.ontrack = ({ track }) => {
      this.stream.addTrack(track);
      track.addEventListener('ended', () => (this.stream.removeTrack(track), options.changed()));
      options.changed();
    };
    pc.oniceconnectionstatechange = () => this.watchIce();
    pc.onconnectionstatechange = () => options.changed();
  }

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /** The remote description's DTLS fingerprint, once there is one. */
  get remoteFingerprint(): string | null {
    return fingerprintOf(this.pc.remoteDescription?.sdp);
  }

  /**
   * Applies a signal from the remote user. Throws when a description cannot be applied (a new
   * page of theirs, with another certificate): the caller replaces this peer.
   */
  async receive({ description, candidate }: RtcSignal): Promise<void> {
    if (this.closed) return;
    const pc = this.pc;
    if (description) {
      const collision = description.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
      this.ignoreOffer = !this.options.polite && collision;
      if (this.ignoreOffer) return;
      this.start(false);
      clearTimeout(this.offerTimer);
      // The polite side's setRemoteDescription rolls its own offer back by itself.
      await pc.setRemoteDescription(description);
      if (description.type === 'offer') {
        await pc.setLocalDescription();
        await this.sendDescription();
      }
      return;
    }
    if (candidate === undefined || candidate === null) return; // the end of their candidates: nothing to do
    try {
      await pc.addIceCandidate(candidate);
    } catch (error) {
      // A candidate of an offer we ignored (or of a description already replaced) fails harmlessly.
      if (!this.ignoreOffer && pc.remoteDescription) throw error;
    }
  }

  /** Uses other local tracks: another device is a replaceTrack; a device that was missing is negotiated. */
  async setLocal(local: LocalTracks): Promise<void> {
    if (this.closed) return;
    for (const kind of ['audio', 'video'] as const) {
      const track = local[kind];
      const transceiver = this.pc.getTransceivers().find((t) => t.receiver.track.kind === kind && t.direction !== 'stopped');
      if (!transceiver) {
        if (track) this.pc.addTrack(track);
        continue;
      }
      if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
      if (track && transceiver.direction === 'recvonly') transceiver.direction = 'sendrecv';
    }
  }

  /**
   * Starts ICE again (after a network change or our own socket's reconnect): a new offer with new
   * credentials. Only the impolite side does unless `evenIfPolite` (its link is down), so that
   * both sides of a call that both reconnected do not offer at once (see firstOfferWaitMs).
   */
  restartIce(evenIfPolite = false): void {
    if (this.closed || (this.options.polite && !evenIfPolite)) return;
    this.start(false);
    this.pc.restartIce();
  }

  setIceServers(iceServers: RTCIceServer[]): void {
    if (!this.closed) this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
  }

  /** Whether ICE is up (connected or completed). */
  get iceUp(): boolean {
    return ['connected', 'completed'].includes(this.pc.iceConnectionState);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.firstOfferTimer);
    clearTimeout(this.offerTimer);
    this.pc.onnegotiationneeded = this.pc.onicecandidate = this.pc.ontrack = null;
    this.pc.oniceconnectionstatechange = this.pc.onconnectionstatechange = null;
    this.pc.close();
    this.stream.getTracks().forEach((track) => this.stream.removeTrack(track));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** From now on this side offers when negotiation is needed; `offerNow`: the wait ran out, offer at once. */
  private start(offerNow: boolean): void {
    if (this.started) return;
    this.started = true;
    clearTimeout(this.firstOfferTimer);
    if (offerNow && !this.closed) void this.offer();
  }

  private async offer(): Promise<void> {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      await this.sendDescription();
    } catch {
      // Closed meanwhile, or the description changed under us: the next negotiationneeded tries again.
    } finally {
      this.makingOffer = false;
    }
  }

  private async sendDescription(): Promise<void> {
    const description = this.pc.localDescription;
    if (!description || this.closed) return;
    const delivered = await this.options.send({ description: { type: description.type as 'offer' | 'answer', sdp: description.sdp } });
    if (description.type !== 'offer') return;
    this.undelivered = !delivered;
    clearTimeout(this.offerTimer);
    this.offerTimer = setTimeout(() => void this.offerAgain(), delivered ? unansweredOfferMs : undeliveredRetryMs);
  }

  /** Rolls back an offer still unanswered and makes a new one. */
  private async offerAgain(): Promise<void> {
    if (this.closed || this.pc.signalingState !== 'have-local-offer') return;
    try {
      await this.pc.setLocalDescription({ type: 'rollback' });
    } catch {
      return; // answered meanwhile
    }
    await this.offer();
  }

  /** `failed`: restart now; `disconnected`: restart if it does not recover within a moment. */
  private watchIce(): void {
    const state = this.pc.iceConnectionState;
    clearTimeout(this.restartTimer);
    // The impolite side restarts; the polite one too if the call is still down a while later (the other side may have no network).
    if (state === 'failed') {
      this.restartIce();
      if (this.options.polite) this.restartTimer = setTimeout(() => this.pc.iceConnectionState === 'failed' && this.restartIce(true), politeRestartAfterMs);
    } else if (state === 'disconnected')
      this.restartTimer = setTimeout(() => this.pc.iceConnectionState === 'disconnected' && this.restartIce(), disconnectedGraceMs);
    this.options.changed();
  }
}
