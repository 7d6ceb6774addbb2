import type { ErrorCode, FieldError } from './errors';
import type {
  AudioLevelPayload,
  HardwareStatusPayload,
  LobbyEntryView,
  MediaStatePayload,
  ParticipantView,
  RoomCodePayload,
  RoomSettingsView,
  RtcSignalPayload,
} from './schemas';

/**
 * The Socket.IO contract (docs/realtime.md), as one typed event map a TypeScript frontend can import
 * (`import type`; nothing here exists at run time):
 *
 *   const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { auth: { token } });
 *
 * Path `/socket.io`, default namespace. A handshake without a valid token fails with
 * `connect_error` whose message is `UNAUTHENTICATED`. Payload fields are snake_case; times are
 * ISO 8601. Every event with an ack is answered `{ok: true, data}` or `{ok: false, error}`.
 */

/** The error of a refused event: the same codes as the REST API (contract/errors.ts). */
export interface EventError {
  code: ErrorCode;
  message: string;
  /** For VALIDATION_FAILED: which fields were wrong. */
  errors?: FieldError[];
}

export type Ack<T> = (response: { ok: true; data: T } | { ok: false; error: EventError }) => void;

/** The answer to `room:attach`: everything needed to show the room, with no other call. */
export interface AttachData {
  status: 'joined' | 'waiting';
  /** Empty for a waiting user, who may not see the room's people. */
  participants: ParticipantView[];
  /** Null for a waiting user. */
  active_speaker: string | null;
  settings: RoomSettingsView;
  /** When the meeting ends by itself at its scheduled end (the host set `end_at_scheduled_end`), for a participant; else null. */
  ends_at: string | null;
  /** The host and the co-hosts only. */
  lobby?: LobbyEntryView[];
  /** A participant only (never a waiting user): the ICE servers of calls, TURN credentials included (docs/calls.md "ICE servers and TURN"). */
  ice_servers?: IceServerView[];
  /** A participant only: the most people the call connects as a mesh (MESH_MAX_PARTICIPANTS, docs/calls.md "How many people a mesh takes"). */
  mesh_max_participants?: number;
}

/** An entry of RTCConfiguration.iceServers. */
export interface IceServerView {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** A WebRTC description or ICE candidate from another participant (docs/calls.md "Signaling"); `from` is set by the server. */
export interface RtcSignal {
  room_code: string;
  from: string;
  description?: { type: 'offer' | 'answer'; sdp: string };
  candidate?: RtcSignalPayload['candidate'];
}

export interface ClientToServerEvents {
  /** Subscribe this socket to the room (after POST /join). A waiting user gets only personal events. */
  'room:attach': (payload: RoomCodePayload, ack: Ack<AttachData>) => void;
  /** Unsubscribe this socket; the user stays in the meeting (until the reconnect grace runs out, if it was their last socket). */
  'room:detach': (payload: RoomCodePayload, ack: Ack<{ status: 'detached' }>) => void;
  /** The microphone level, 10-20 times a second. No ack; ignored unless the sender is a participant. */
  'audio:level': (payload: AudioLevelPayload) => void;
  'hardware:status': (payload: HardwareStatusPayload, ack: Ack<{ hardware_ready: boolean }>) => void;
  /** Leave the lobby (a participant gets NOT_IN_LOBBY; leaving the room is POST /leave). */
  'lobby:cancel': (payload: RoomCodePayload, ack: Ack<{ status: 'cancelled' }>) => void;
  /**
   * A description or ICE candidate for another participant (`to`), delivered to that user's media
   * socket in the room; `delivered` is false when they have no socket attached. Participants only.
   */
  'rtc:signal': (payload: RtcSignalPayload, ack: Ack<{ delivered: boolean }>) => void;
  /** The sender's microphone and camera, on or off: the room sees it in `participant:updated` (`media`). Participants only. */
  'media:state': (payload: MediaStatePayload, ack: Ack<{ audio: boolean; video: boolean }>) => void;
  /** Fresh ICE servers (TURN credentials included) for a participant of the room. */
  'rtc:ice_servers': (payload: RoomCodePayload, ack: Ack<{ ice_servers: IceServerView[] }>) => void;
}

export interface ServerToClientEvents {
  'lobby:waiting': (payload: { room_code: string; reason: 'locked' | 'host_not_started' }) => void;
  'lobby:entered': (payload: { room_code: string; user_id: string; display_name: string }) => void;
  'lobby:left': (payload: { room_code: string; user_id: string }) => void;
  'lobby:admitted': (payload: { room_code: string }) => void;
  'lobby:rejected': (payload: { room_code: string }) => void;
  'participant:joined': (payload: { room_code: string; participant: ParticipantView }) => void;
  'participant:updated': (payload: { room_code: string; participant: ParticipantView }) => void;
  'participant:left': (payload: { room_code: string; user_id: string; reason: 'left' | 'removed' | 'disconnected' }) => void;
  'participant:removed': (payload: { room_code: string }) => void;
  /** The host asks this participant to mute (REST `mute`, `mute-all`); muting is the client's and the SFU's. */
  'participant:mute_requested': (payload: { room_code: string; by: string; at: string }) => void;
  'speaker:changed': (payload: { room_code: string; user_id: string | null; at: string }) => void;
  'room:updated': (payload: {
    room_code: string;
    settings: RoomSettingsView;
    status: 'pending' | 'active' | 'ended';
    scheduled_start_at: string | null;
    scheduled_end_at: string | null;
  }) => void;
  'room:ended': (payload: { room_code: string; ended_at: string }) => void;
  /** The room ends by itself at `ends_at`, its scheduled end (the host set `end_at_scheduled_end`): SCHEDULED_END_WARNING_S ahead. */
  'room:ending': (payload: { room_code: string; ends_at: string }) => void;
  /** To the user's media socket in the room. */
  'rtc:signal': (payload: RtcSignal) => void;
  /** A newer socket of this user attached to the room and carries their media now: this one stops its calls. */
  'rtc:superseded': (payload: { room_code: string }) => void;
}

/**
 * Between nodes (Socket.IO's serverSideEmit): rooms talk through the room router; only a room's
 * speaker tuning goes to every node, for the speaking detectors of the room's sockets there.
 */
export interface InterServerEvents {
  'speaker:tuned': (roomCode: string, tuning: { thresholdDb: number | null; minMs: number | null }) => void;
}

/** What the server keeps on each socket (plain data, so it can cross nodes with fetchSockets). */
export interface SocketData {
  userId: string;
  isGuest: boolean;
  /** Rooms the socket attached to; kept in its session, so a recovered socket attaches again. */
  attachedRooms?: string[];
}
