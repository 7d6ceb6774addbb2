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
    pc.onnegotiationneeded = () => void this.offer();
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

  /** Starts ICE again (after a network change or our own socket's reconnect): a new offer with new credentials. */
  restartIce(): void {
    if (!this.closed) this.pc.restartIce();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.pc.onnegotiationneeded = this.pc.onicecandidate = this.pc.ontrack = null;
    this.pc.oniceconnectionstatechange = this.pc.onconnectionstatechange = null;
    this.pc.close();
    this.stream.getTracks().forEach((track) => this.stream.removeTrack(track));
  }

  get isClosed(): boolean {
    return this.closed;
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
    if (!delivered && description.type === 'offer') this.undelivered = true;
  }

  /** `failed`: restart now; `disconnected`: restart if it does not recover within a moment. */
  private watchIce(): void {
    const state = this.pc.iceConnectionState;
    clearTimeout(this.restartTimer);
    if (state === 'failed') this.restartIce();
    else if (state === 'disconnected') this.restartTimer = setTimeout(() => this.pc.iceConnectionState === 'disconnected' && this.restartIce(), disconnectedGraceMs);
    this.options.changed();
  }
}
