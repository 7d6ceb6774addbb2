import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { AttachData, ClientToServerEvents, EventError, IceServerView, RtcSignal, ServerToClientEvents } from '../contract/events';
import type { GuestBody, LoginBody, RegisterBody, SessionView, UserView } from '../contract/schemas';
import { MeetingError } from './meeting-error';
import { restApi, type MeetingsApi } from './rest-api';

export interface MeetingClientOptions {
  /** The server's origin, e.g. `https://meet.example.com`; empty (the default) is the page's own origin. */
  baseUrl?: string;
  /** A session kept from an earlier sign-in (register, login and guest return one). */
  session?: SessionView | null;
  /** How long a socket event waits for its answer before failing with TIMEOUT. Default 10 s. */
  ackTimeoutMs?: number;
  /** Replaces the global fetch (tests, other runtimes). */
  fetch?: typeof fetch;
  /** Passed to socket.io-client as they are (transports, reconnection delays, …). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

/** Where the realtime connection is. `unauthenticated`: the token was refused; sign in again. */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'unauthenticated';

/** The outcome of attaching again after a reconnect that Socket.IO could not recover. */
export type Reattached = { room_code: string; ok: true; data: AttachData } | { room_code: string; ok: false; error: MeetingError };

type AckedEvent = 'room:attach' | 'room:detach' | 'hardware:status' | 'lobby:cancel' | 'rtc:signal' | 'rtc:ice_servers' | 'media:state';
type AckData<E extends AckedEvent> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0] extends infer R
  ? R extends { ok: true; data: infer D }
    ? D
    : never
  : never;

/** Levels are dBFS in [-127, 0]; anything else (silence's -Infinity, NaN) is sent as -127. */
const clampLevel = (level: number) => (Number.isFinite(level) ? Math.round(Math.min(0, Math.max(-127, level)) * 10) / 10 : -127);

/**
 * The one way a browser (or a Node.js service) talks to a meeting-rooms server: the REST API
 * through `fetch` and the realtime events through `socket.io-client`, both typed with the
 * server's own contract (`src/contract/`). Every failure is a `MeetingError` with a stable `code`.
 */
export class MeetingClient {
  /**
   * `/api/v1/meetings`: create, history, getRoom, participants, join, admit, admitAll, reject,
   * rejectAll, requestMute, requestMuteAll, grantCoHost, revokeCoHost, remove, leave, end, configure.
   */
  readonly meetings: MeetingsApi;
  private readonly auth: ReturnType<typeof restApi>['auth'];
  private readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private readonly ackTimeoutMs: number;
  private currentSession: SessionView | null;
  /** Rooms this client attached to: attached again after a reconnect that was not recovered. */
  private readonly attached = new Set<string>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly reattachListeners = new Set<(outcome: Reattached) => void>();
  private state: ConnectionState = 'disconnected';
  /** The pending comeback after the server closed the connection; disconnect() cancels it. */
  private comeback: ReturnType<typeof setTimeout> | undefined;

  constructor(options: MeetingClientOptions = {}) {
    const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.currentSession = options.session ?? null;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    const api = restApi({ baseUrl, token: () => this.currentSession?.access_token, fetch: options.fetch ?? ((...args) => fetch(...args)) });
    this.auth = api.auth;
    this.meetings = api.meetings;
    // The token is read at every handshake, so a reconnect after signing in again uses the new one.
    const socketOptions = { autoConnect: false, auth: (cb: (data: object) => void) => cb({ token: this.currentSession?.access_token }), ...options.socket };
    this.socket = baseUrl ? io(baseUrl, socketOptions) : io(socketOptions);
    this.watchConnection();
  }

  /** The signed-in user's session, or null. Keep it (e.g. in localStorage) to stay signed in. */
  get session(): SessionView | null {
    return this.currentSession;
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** Whether the last reconnect kept the same socket (still attached, missed events replayed). */
  get recovered(): boolean {
    return this.socket.recovered;
  }

  // ---- Accounts ---------------------------------------------------------------------------

  async register(body: RegisterBody): Promise<SessionView> {
    return this.signIn(await this.auth.register(body));
  }

  async login(body: LoginBody): Promise<SessionView> {
    return this.signIn(await this.auth.login(body));
  }

  /** A guest account: may join rooms, may not create them. */
  async guest(body: GuestBody): Promise<SessionView> {
    return this.signIn(await this.auth.guest(body));
  }

  /** The signed-in user as the server knows them (UNAUTHENTICATED once the token expired). */
  me(): Promise<UserView> {
    return this.auth.me();
  }

  /** Forgets the session and closes the realtime connection. */
  signOut(): void {
    this.disconnect();
    this.currentSession = null;
  }

  // ---- Realtime ---------------------------------------------------------------------------

  /** Opens the realtime connection (if it is not open) and waits until it is. */
  connect(timeoutMs = 20_000): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error?: MeetingError) => {
        clearTimeout(timer);
        this.socket.off('connect', onConnect);
        this.socket.off('connect_error', onError);
        if (error) reject(error);
        else resolve();
      };
      const onConnect = () => done();
      // Socket.IO retries on its own unless the server refused the handshake.
      const onError = (error: Error & { data?: { code?: string } }) => {
        if (!this.socket.active) done(new MeetingError(error.message === 'UNAUTHENTICATED' ? 'UNAUTHENTICATED' : 'NETWORK_ERROR', error.message));
      };
      const timer = setTimeout(() => done(new MeetingError('NETWORK_ERROR', `Could not connect within ${timeoutMs} ms`)), timeoutMs);
      this.socket.on('connect', onConnect);
      this.socket.on('connect_error', onError);
      if (!this.socket.active) {
        this.setState('connecting');
        this.socket.connect();
      }
    });
  }

  /** Closes the realtime connection; the user stays in their meetings until the reconnect grace ends. */
  disconnect(): void {
    clearTimeout(this.comeback);
    this.comeback = undefined;
    this.attached.clear();
    this.socket.disconnect();
    this.setState('disconnected');
  }

  /**
   * Subscribes this connection to a room (after `meetings.join`): everything needed to draw it.
   * The client attaches again by itself after a reconnect that Socket.IO could not recover.
   */
  async attach(roomCode: string): Promise<AttachData> {
    const data = await this.emit('room:attach', { room_code: roomCode });
    this.attached.add(roomCode);
    return data;
  }

  /** Stops this connection's room events; the user stays in the meeting. */
  async detach(roomCode: string): Promise<void> {
    this.attached.delete(roomCode);
    await this.emit('room:detach', { room_code: roomCode });
  }

  /** Tells the room whether this user's camera and microphone are ready. */
  async setHardwareReady(roomCode: string, hardwareReady: boolean): Promise<boolean> {
    return (await this.emit('hardware:status', { room_code: roomCode, hardware_ready: hardwareReady })).hardware_ready;
  }

  /** Leaves the lobby of a room this user is waiting in. */
  async cancelWaiting(roomCode: string): Promise<void> {
    await this.emit('lobby:cancel', { room_code: roomCode });
  }

  /** Sends a WebRTC description or ICE candidate to another participant's media socket; false when they have none in the room. */
  async signal(roomCode: string, to: string, signal: Pick<RtcSignal, 'description' | 'candidate'>): Promise<boolean> {
    return (await this.emit('rtc:signal', { room_code: roomCode, to, ...signal })).delivered;
  }

  /** Tells the room whether this user's microphone and camera are on (everyone sees it as the participant's `media`). */
  async setMediaState(roomCode: string, media: { audio: boolean; video: boolean }): Promise<void> {
    await this.emit('media:state', { room_code: roomCode, ...media });
  }

  /** The STUN/TURN servers for this room's calls (participants only; `room:attach` gives them too). */
  async iceServers(roomCode: string): Promise<IceServerView[]> {
    return (await this.emit('rtc:ice_servers', { room_code: roomCode })).ice_servers;
  }

  /** Reports the microphone level (dBFS) for active-speaker detection; dropped while disconnected. */
  sendLevel(roomCode: string, level: number): void {
    if (this.socket.connected) this.socket.volatile.emit('audio:level', { room_code: roomCode, level: clampLevel(level) });
  }

  /** Listens to a server event (typed by the contract); returns the function that stops listening. */
  on<E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): () => void {
    // Socket.IO's overloads do not narrow a generic event name; the map type still checks the listener.
    const socket = this.socket as unknown as { on(event: string, listener: unknown): void; off(event: string, listener: unknown): void };
    socket.on(event, listener);
    return () => socket.off(event, listener);
  }

  /** Follows the connection state; returns the function that stops listening. */
  onConnectionState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Hears each automatic re-attach after an unrecovered reconnect (redraw the room from `data`). */
  onReattach(listener: (outcome: Reattached) => void): () => void {
    this.reattachListeners.add(listener);
    return () => this.reattachListeners.delete(listener);
  }

  private signIn(session: SessionView): SessionView {
    // A connection keeps the identity of its handshake: a new user needs a new one.
    if (this.socket.active) this.disconnect();
    this.currentSession = session;
    return session;
  }

  private async emit<E extends AckedEvent>(event: E, payload: Parameters<ClientToServerEvents[E]>[0]): Promise<AckData<E>> {
    await this.connect();
    type Reply = { ok: true; data: AckData<E> } | { ok: false; error: EventError };
    let reply: Reply;
    try {
      const emitter = this.socket.timeout(this.ackTimeoutMs) as unknown as { emitWithAck(event: string, payload: unknown): Promise<Reply> };
      reply = await emitter.emitWithAck(event, payload);
    } catch {
      throw new MeetingError('TIMEOUT', `No answer to ${event} within ${this.ackTimeoutMs} ms`);
    }
    if (!reply.ok) throw new MeetingError(reply.error.code, reply.error.message, 0, reply.error.errors);
    return reply.data;
  }

  private watchConnection(): void {
    this.socket.on('connect', () => {
      this.setState('connected');
      // A recovered connection is the same socket, still attached, with missed events replayed.
      if (!this.socket.recovered) for (const roomCode of this.attached) void this.reattach(roomCode);
    });
    this.socket.on('disconnect', (reason) => {
      // The server closes connections when a node hands off or cuts a flooding socket: come back.
      if (reason === 'io server disconnect' && this.currentSession) {
        this.setState('reconnecting');
        clearTimeout(this.comeback);
        this.comeback = setTimeout(
          () => {
            this.comeback = undefined;
            if (this.currentSession && !this.socket.active) this.socket.connect();
          },
          250 + Math.random() * 500,
        );
        return;
      }
      this.setState(this.socket.active ? 'reconnecting' : 'disconnected');
    });
    this.socket.on('connect_error', (error) => {
      if (error.message === 'UNAUTHENTICATED') this.setState('unauthenticated');
      else if (this.socket.active) this.setState('reconnecting');
    });
  }

  private async reattach(roomCode: string): Promise<void> {
    let outcome: Reattached;
    try {
      outcome = { room_code: roomCode, ok: true, data: await this.emit('room:attach', { room_code: roomCode }) };
    } catch (error) {
      // The room ended or the user was removed meanwhile: stop trying.
      if (error instanceof MeetingError && error.code !== 'TIMEOUT') this.attached.delete(roomCode);
      outcome = { room_code: roomCode, ok: false, error: error as MeetingError };
    }
    for (const listener of this.reattachListeners) listener(outcome);
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}
