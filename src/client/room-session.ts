import type { AttachData } from '../contract/events';
import type { ParticipantView, RoomSettingsView } from '../contract/schemas';
import type { MeetingClient } from './meeting-client';
import { MeetingError } from './meeting-error';
import { Mesh } from './mesh';
import { defaultMaxCallSize, type RoomSnapshot, type SessionEvent, type SessionStatus, type WaitingUser } from './room-snapshot';

/**
 * One room as a page lives it: its state kept from the room's events (who is in, the lobby for
 * moderators, the active speaker, the settings) and the call with everyone else in it, one
 * RTCPeerConnection each (a mesh; media never goes through the server). How a page uses it:
 * docs/client-sdk.md "RoomSession".
 */
export class RoomSession {
  readonly roomCode: string;
  private readonly client: MeetingClient;
  private readonly selfId: string;
  private readonly mesh: Mesh;
  private status: SessionStatus = 'detached';
  private participants = new Map<string, ParticipantView>();
  private lobby = new Map<string, WaitingUser>();
  private activeSpeaker: string | null = null;
  private settings: RoomSettingsView | null = null;
  private roomStatus: RoomSnapshot['roomStatus'] = null;
  private readonly listeners = new Set<(room: RoomSnapshot) => void>();
  private readonly eventListeners = new Set<(event: SessionEvent) => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private current: RoomSnapshot | null = null;
  /** Lobby changes heard while a new co-host fetches the lobby, applied again on top of what the fetch returns. */
  private heardWhileFetching: ((lobby: Map<string, WaitingUser>) => void)[] | null = null;

  constructor(client: MeetingClient, roomCode: string) {
    if (!client.session) throw new MeetingError('UNAUTHENTICATED', 'Sign in before opening a room session');
    this.client = client;
    this.roomCode = roomCode;
    this.selfId = client.session.user.id;
    this.mesh = new Mesh({
      selfId: this.selfId,
      maxCallSize: defaultMaxCallSize,
      send: (to, signal) => client.signal(roomCode, to, signal),
      changed: () => this.changed(),
      superseded: () => this.supersede(),
    });
    this.listen();
  }

  /** The room as it is now. */
  get snapshot(): RoomSnapshot {
    this.current ??= {
      status: this.status,
      participants: new Map(this.participants),
      lobby: new Map(this.lobby),
      activeSpeaker: this.activeSpeaker,
      settings: this.settings,
      roomStatus: this.roomStatus,
      connection: this.client.connectionState,
      media: this.mesh.media(),
      microphoneOn: this.mesh.microphoneOn,
      cameraOn: this.mesh.cameraOn,
      hasMicrophone: this.mesh.devices.microphone,
      hasCamera: this.mesh.devices.camera,
      callFull: this.participants.size > this.mesh.maxCallSize,
      inCall: this.status === 'joined' && this.mesh.inCall,
      maxCallSize: this.mesh.maxCallSize,
    };
    return this.current;
  }

  /** Calls `listener` after every change (not now); returns the function that stops it. */
  subscribe(listener: (room: RoomSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onEvent(listener: (event: SessionEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Subscribes this page to the room (after `meetings.join`); this page carries the user's call from now on. */
  async attach(): Promise<AttachData> {
    const data = await this.client.attach(this.roomCode);
    if (this.status !== 'over') this.apply(data);
    return data;
  }

  /** The camera and microphone to send (null: none); the on/off switches stay as they are. */
  setLocalStream(stream: MediaStream | null): void {
    this.mesh.setLocalStream(stream);
    this.reportMedia();
  }

  /** Turns the microphone on or off for everyone (the track is disabled: silence is sent). */
  setMicrophone(on: boolean): void {
    this.mesh.setEnabled('audio', on);
    this.reportMedia();
  }

  /** Turns the camera on or off for everyone (the track is disabled: black frames are sent). */
  setCamera(on: boolean): void {
    this.mesh.setEnabled('video', on);
    this.reportMedia();
  }

  /** Tells the room the switches (`media:state`; the server passes on changes only), while this page is in it. */
  private reportMedia(): void {
    if (this.status !== 'joined') return;
    const media = { audio: this.mesh.microphoneOn, video: this.mesh.cameraOn };
    void this.client.setMediaState(this.roomCode, media).catch(() => undefined);
  }

  /** Forgets lobby entries this page admitted or rejected (the server tells only the person concerned). */
  dropFromLobby(userIds: string[]): void {
    this.changeLobby((lobby) => userIds.forEach((userId) => lobby.delete(userId)));
  }

  /** Settings this page just changed (the answer of `meetings.configure`). */
  setSettings(settings: RoomSettingsView): void {
    this.settings = settings;
    this.changed();
  }

  /** Stops the call and the room's events for this page (it does not leave the meeting: that is `meetings.leave`). */
  close(): void {
    this.unsubscribe.splice(0).forEach((stop) => stop());
    this.mesh.closeAll();
    this.status = 'over';
    this.changed();
  }

  private apply(data: AttachData): void {
    this.status = data.status;
    this.participants = new Map(data.participants.map((participant) => [participant.user_id, participant]));
    this.lobby = new Map((data.lobby ?? []).map(({ user_id, display_name }) => [user_id, { user_id, display_name }]));
    this.activeSpeaker = data.active_speaker;
    this.settings = data.settings;
    if (data.status === 'joined') this.roomStatus = 'active';
    this.mesh.maxCallSize = data.mesh_max_participants ?? this.mesh.maxCallSize;
    this.mesh.setIceServers(data.status === 'joined' ? (data.ice_servers ?? []) : null);
    this.syncPeers();
    this.reportMedia();
  }

  /** One call with every other connected participant while joined; none otherwise. */
  private syncPeers(): void {
    this.mesh.sync(this.status === 'joined' ? [...this.participants.values()] : []);
    this.changed();
  }

  private end(event: SessionEvent): void {
    this.status = 'over';
    this.mesh.closeAll();
    this.changed();
    this.emit(event);
  }

  private supersede(): void {
    if (this.status !== 'joined') return;
    this.status = 'superseded';
    this.mesh.closeAll();
    // Detached, this socket is not attached again by a reconnect, which would take the call back. attach() does.
    void this.client.detach(this.roomCode).catch(() => undefined);
    this.changed();
    this.emit({ type: 'superseded' });
  }

  private changeLobby(change: (lobby: Map<string, WaitingUser>) => void): void {
    change(this.lobby);
    this.heardWhileFetching?.push(change);
    this.changed();
  }

  /** Made a co-host: the lobby as it is now, with the lobby events heard meanwhile on top; no longer one: none. */
  private async refetchLobby(coHost: boolean): Promise<void> {
    if (!coHost) return void ((this.lobby = new Map()), this.changed());
    this.heardWhileFetching = [];
    try {
      const { lobby = [] } = await this.client.meetings.participants(this.roomCode);
      this.lobby = new Map(lobby.map(({ user_id, display_name }) => [user_id, { user_id, display_name }]));
      for (const change of this.heardWhileFetching) change(this.lobby);
      this.changed();
    } finally {
      this.heardWhileFetching = null;
    }
  }

  private listen(): void {
    const client = this.client;
    const mine =
      <T extends { room_code: string }>(handler: (payload: T) => void) =>
      (payload: T) => {
        if (payload.room_code === this.roomCode && this.status !== 'over') handler(payload);
      };
    this.unsubscribe.push(
      client.on(
        'lobby:waiting',
        mine(({ reason }) => this.emit({ type: 'waiting', reason })),
      ),
      client.on(
        'lobby:admitted',
        mine(() => void this.attach().catch((error: unknown) => this.emit({ type: 'failed', error: error as MeetingError }))),
      ),
      client.on(
        'lobby:rejected',
        mine(() => ((this.status = 'rejected'), this.changed(), this.emit({ type: 'rejected' }))),
      ),
      client.on(
        'lobby:entered',
        mine(({ user_id, display_name }) => this.changeLobby((lobby) => lobby.set(user_id, { user_id, display_name }))),
      ),
      client.on(
        'lobby:left',
        mine(({ user_id }) => this.dropFromLobby([user_id])),
      ),
      client.on(
        'participant:joined',
        mine(({ participant }) => {
          this.participants.set(participant.user_id, participant);
          this.lobby.delete(participant.user_id);
          this.syncPeers();
        }),
      ),
      client.on(
        'participant:updated',
        mine(({ participant }) => {
          const before = this.participants.get(participant.user_id)?.role;
          this.participants.set(participant.user_id, participant);
          this.syncPeers();
          if (participant.user_id === this.selfId && before !== participant.role) void this.refetchLobby(participant.role === 'co_host').catch(() => undefined);
        }),
      ),
      client.on(
        'participant:left',
        mine(({ user_id, reason }) => {
          this.participants.delete(user_id);
          if (user_id === this.selfId) this.end({ type: 'left', reason });
          else this.syncPeers();
        }),
      ),
      client.on(
        'participant:removed',
        mine(() => this.end({ type: 'left', reason: 'removed' })),
      ),
      client.on(
        'participant:mute_requested',
        mine(({ by, at }) => (this.setMicrophone(false), this.emit({ type: 'mute_requested', by, at }))),
      ),
      client.on(
        'speaker:changed',
        mine(({ user_id }) => ((this.activeSpeaker = user_id), this.changed())),
      ),
      client.on(
        'room:updated',
        mine(({ settings, status }) => ((this.settings = settings), (this.roomStatus = status), this.changed())),
      ),
      client.on(
        'room:ending',
        mine(({ ends_at }) => this.emit({ type: 'ending', endsAt: ends_at })),
      ),
      client.on(
        'room:ended',
        mine(() => this.end({ type: 'ended' })),
      ),
      client.on(
        'rtc:signal',
        mine(({ from, description, candidate }) => this.mesh.receive(from, { description, candidate })),
      ),
      client.on(
        'rtc:superseded',
        mine(() => this.supersede()),
      ),
      client.onConnectionState((state) => {
        // A recovered connection is the same socket, still attached: the calls restart ICE now. Otherwise after the re-attach.
        if (state === 'connected' && client.recovered) this.mesh.restartIce();
        this.changed();
      }),
      client.onReattach((outcome) => {
        if (outcome.room_code !== this.roomCode || this.status === 'over') return;
        if (!outcome.ok) return this.emit({ type: 'failed', error: outcome.error });
        if (this.status === 'superseded') return; // another page has the call; attaching again took nothing back
        this.apply(outcome.data);
        this.mesh.restartIce();
      }),
    );
  }

  private changed(): void {
    this.current = null;
    if (this.listeners.size === 0) return;
    const room = this.snapshot;
    for (const listener of this.listeners) listener(room);
  }

  private emit(event: SessionEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }
}
