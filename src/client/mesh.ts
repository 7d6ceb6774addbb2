import type { ParticipantView } from '../contract/schemas';
import { MeetingError } from './meeting-error';
import { fingerprintOf, Peer, type LocalTracks, type RtcSignal } from './peer';

/** What this page receives from one other participant. */
export interface RemoteMedia {
  /** Their microphone and camera tracks (either may be missing); give it to a <video>'s srcObject. A new call is a new stream. */
  stream: MediaStream;
  /** `connected` once media can flow; `failed` until an ICE restart brings it back. */
  state: RTCPeerConnectionState;
}

export interface MeshOptions {
  selfId: string;
  /** The most people in one call: the first who joined are in it, the others see the room with no media. */
  maxCallSize: number;
  /** Sends a signal through the room server: true when delivered, false when they have no socket; throws on a refusal. */
  send(to: string, signal: RtcSignal): Promise<boolean>;
  changed(): void;
  /** The server refused a signal with SUPERSEDED: another page of this user carries the call. */
  superseded(): void;
}

/**
 * The calls of one page in one room: a Peer per other connected participant. Which side is
 * polite is decided by comparing user ids, so both sides agree with no message. Signals are
 * applied one at a time, in order; those that come before the ICE servers are known wait.
 */
export class Mesh {
  private readonly options: MeshOptions;
  private readonly peers = new Map<string, Peer>();
  private local: LocalTracks = { audio: null, video: null };
  private enabled = { audio: true, video: true };
  /** Null until the room's attach answer gave them: no call starts before. */
  private iceServers: RTCIceServer[] | null = null;
  private waiting: [string, RtcSignal][] = [];
  /** Who is in the call (at most maxCallSize, this user included); everyone while unknown. */
  private callable: Set<string> | null = null;
  private queue: Promise<void> = Promise.resolve();

  /** The server's MESH_MAX_PARTICIPANTS once the attach answer said it. */
  maxCallSize: number;

  constructor(options: MeshOptions) {
    this.options = options;
    this.maxCallSize = options.maxCallSize;
  }

  /** Which local devices there are to send. */
  get devices(): { microphone: boolean; camera: boolean } {
    return { microphone: this.local.audio !== null, camera: this.local.video !== null };
  }

  get microphoneOn(): boolean {
    return this.enabled.audio && this.local.audio !== null;
  }

  get cameraOn(): boolean {
    return this.enabled.video && this.local.video !== null;
  }

  media(): Map<string, RemoteMedia> {
    return new Map([...this.peers].map(([userId, peer]) => [userId, { stream: peer.stream, state: peer.connectionState }]));
  }

  /** Null: this page has no call (waiting, superseded); the calls are closed. */
  setIceServers(iceServers: RTCIceServer[] | null): void {
    this.iceServers = iceServers;
    if (!iceServers) return this.closeAll();
    // Attached again (after a reconnect): fresh TURN credentials for the ICE restarts that follow.
    for (const peer of this.peers.values()) peer.setIceServers(iceServers);
    const waiting = this.waiting.splice(0);
    for (const [from, signal] of waiting) this.receive(from, signal);
  }

  /** Whether this user is among the first maxCallSize participants (those who have media). */
  get inCall(): boolean {
    return this.callable?.has(this.options.selfId) ?? false;
  }

  /**
   * Opens a call with each connected participant who has none, closes those with people gone;
   * `[]` closes all. Everyone orders the room the same way (by joined_at, then user id), so
   * everyone agrees on who is in a call that is full without saying so.
   */
  sync(participants: ParticipantView[]): void {
    const order = [...participants].sort((a, b) => a.joined_at.localeCompare(b.joined_at) || a.user_id.localeCompare(b.user_id));
    const callable = new Set(order.slice(0, this.maxCallSize).map((participant) => participant.user_id));
    this.callable = callable.has(this.options.selfId) ? callable : new Set();
    for (const [userId, peer] of this.peers) if (!this.callable.has(userId)) this.drop(userId, peer);
    if (!this.iceServers) return;
    for (const participant of order) {
      if (participant.user_id === this.options.selfId || participant.status !== 'connected' || !this.callable.has(participant.user_id)) continue;
      const peer = this.peers.get(participant.user_id);
      // An offer that found nobody (they had not attached yet) is made again now that they are here.
      if (!peer || peer.undelivered) this.open(participant.user_id);
    }
  }

  /** A signal from another participant, applied after those before it. */
  receive(from: string, signal: RtcSignal): void {
    if (from === this.options.selfId || (this.callable && !this.callable.has(from))) return;
    if (!this.iceServers) return void this.waiting.push([from, signal]);
    this.queue = this.queue.then(() => this.apply(from, signal)).catch(() => undefined);
  }

  setLocalStream(stream: MediaStream | null): void {
    this.local = { audio: stream?.getAudioTracks()[0] ?? null, video: stream?.getVideoTracks()[0] ?? null };
    for (const kind of ['audio', 'video'] as const) if (this.local[kind]) this.local[kind].enabled = this.enabled[kind];
    for (const peer of this.peers.values()) void peer.setLocal(this.local).catch(() => undefined);
    this.options.changed();
  }

  setEnabled(kind: 'audio' | 'video', on: boolean): void {
    this.enabled[kind] = on;
    if (this.local[kind]) this.local[kind].enabled = on;
    this.options.changed();
  }

  /** After this page's socket came back: the impolite side of each call restarts ICE, the polite side too if its ICE is down. */
  restartIce(): void {
    for (const peer of this.peers.values()) peer.restartIce(!peer.iceUp);
  }

  closeAll(): void {
    this.waiting = [];
    this.callable = null;
    for (const [userId, peer] of this.peers) this.drop(userId, peer);
  }

  private open(userId: string): Peer {
    this.peers.get(userId)?.close();
    const peer: Peer = new Peer({
      remoteId: userId,
      polite: this.options.selfId < userId,
      iceServers: this.iceServers ?? [],
      local: this.local,
      send: (signal): Promise<boolean> => this.send(peer, signal),
      changed: () => this.options.changed(),
    });
    this.peers.set(userId, peer);
    this.options.changed();
    return peer;
  }

  private drop(userId: string, peer: Peer): void {
    peer.close();
    if (this.peers.get(userId) === peer) this.peers.delete(userId);
    this.options.changed();
  }

  private async send(peer: Peer, signal: RtcSignal): Promise<boolean> {
    if (peer.isClosed) return false;
    try {
      return await this.options.send(peer.remoteId, signal);
    } catch (error) {
      if (error instanceof MeetingError && (error.code as string) === 'SUPERSEDED') this.options.superseded();
      return false;
    }
  }

  /**
   * A description from another page of theirs (another DTLS certificate: they reloaded, or opened
   * the room in a new tab) cannot go on the old connection: a new call starts from it.
   */
  private async apply(from: string, signal: RtcSignal): Promise<void> {
    if (!this.iceServers) return;
    let peer = this.peers.get(from);
    const fingerprint = signal.description ? fingerprintOf(signal.description.sdp) : null;
    if (peer && fingerprint && peer.remoteFingerprint && fingerprint !== peer.remoteFingerprint) peer = undefined;
    if (!peer) {
      // Only an offer can start a call from their side. An answer from a new page of theirs (to our
      // ICE restart) means our call is dead: a new one offers. A candidate for a call gone is stale.
      if (signal.description?.type === 'answer') this.open(from);
      if (signal.description?.type !== 'offer') return;
      peer = this.open(from);
    }
    try {
      await peer.receive(signal);
    } catch (error) {
      if (signal.description?.type !== 'offer') throw error;
      await this.open(from).receive(signal);
    }
  }
}
