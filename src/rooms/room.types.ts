import type { Schedule, SchedulePatch } from './schedule';

/**
 * The room's types: its context, the commands it takes, the durable changes and notices it
 * produces (see room.machine.ts for how they are used). No logic beyond the initial context.
 */

export interface RoomSettings {
  lock_room: boolean;
  enable_transcription: boolean;
  max_participants: number;
  /** The room's own ACTIVE_SPEAKER_THRESHOLD_DB; absent: the server's. */
  speaker_threshold_db?: number;
  /** The room's own ACTIVE_SPEAKER_MIN_MS; absent: the server's. */
  speaker_min_ms?: number;
  /** Present (true) when the host asked for the meeting to end at its scheduled end (docs/api.md "Scheduled meetings"). */
  end_at_scheduled_end?: boolean;
}

/**
 * The settings a room's context keeps: all but the lock, which is the machine's admission state
 * (open or locked, room.machine.ts); `settingsOf` (machine-runner.ts) puts the two together.
 */
export type ContextSettings = Omit<RoomSettings, 'lock_room'>;

/** Drops the lock from a room's settings: what the context keeps of them. */
export const contextSettings = ({ lock_room: _lock, ...rest }: RoomSettings): ContextSettings => rest;

/** A settings change: a speaker key set to null goes back to the server's value. */
export type SettingsPatch = Partial<Omit<RoomSettings, SpeakerSettingKey>> & { [K in SpeakerSettingKey]?: number | null };
export type SpeakerSettingKey = 'speaker_threshold_db' | 'speaker_min_ms';

/** How the speaking detectors hear a room (docs/realtime.md "Per-room speaker tuning"); null: the node's ACTIVE_SPEAKER_* value. */
export interface SpeakerTuning {
  thresholdDb: number | null;
  minMs: number | null;
}

/** The role an attendance starts with (PostgreSQL `participants.role`). */
export type Role = 'host' | 'guest';
/** A participant's role now: a guest the host made a co-host moderates with them while in the room. */
export type ParticipantRole = Role | 'co_host';

/**
 * Who moderates a room (admits, removes, ends, sees the lobby), decided here only: its host,
 * present or not, and the co-hosts while they are in it. `role`: the user's role in the room, if seated.
 */
export const moderates = (hostId: string, userId: string, role: ParticipantRole | undefined): boolean => userId === hostId || role === 'co_host';
export type LeaveReason = 'left' | 'removed' | 'disconnected';

/** An admitted participant. */
export interface Participant {
  userId: string;
  displayName: string;
  role: ParticipantRole;
  /** `connected` while at least one of the user's sockets is attached to the room. */
  status: 'connected' | 'disconnected';
  language: string | null;
  hardwareReady: boolean;
  joinedAt: number;
  /** What the participant sends in the call (docs/calls.md "Microphone and camera state"), as their client said; null until it says. */
  media: MediaState | null;
}

/**
 * A user's presence in the room: the sockets they attached (ids from the realtime layer), and,
 * for a member or waiting user with none, when they leave unless one attaches (epoch ms; null
 * while a socket is attached). Kept as one entry, replaced whole, so that an attach or a detach
 * copies one record and adds no key to it (docs/performance.md, row (d)).
 */
export interface Presence {
  sockets: string[];
  graceUntil: number | null;
}

/** Whether a participant's microphone and camera are on. */
export interface MediaState {
  audio: boolean;
  video: boolean;
}

/** Why a joiner waits in the lobby rather than coming in. */
export type WaitingReason = 'locked' | 'host_not_started';

/** A user waiting in the lobby. */
export interface LobbyEntry {
  userId: string;
  displayName: string;
  language: string | null;
  hardwareReady: boolean;
  since: number;
  /** Joined with a valid invitation to this room: let in when the host starts it, even locked (docs/api.md "Invitations"). */
  invited: boolean;
}

/** Codes a command can be refused with (a subset of the error catalog, src/contract/errors.ts). */
export type RefusalCode =
  | 'NOT_HOST'
  | 'NOT_A_PARTICIPANT'
  | 'REMOVED_FROM_ROOM'
  | 'ROOM_NOT_FOUND'
  | 'ROOM_FULL'
  | 'NOT_IN_LOBBY'
  | 'VALIDATION_FAILED'
  | 'LOBBY_COOLDOWN'
  | 'SUPERSEDED';
export interface Refusal {
  code: RefusalCode;
  detail: string;
}

/** How long things last in a room: the node's configuration (docs/configuration.md), the same for every room. */
export interface RoomTimings {
  /** EMPTY_ROOM_TIMEOUT_S: an active room with nobody in it ends after this. */
  emptyRoomTimeoutMs: number;
  /** SOLO_ROOM_TIMEOUT_S: an active room with one participant ends after this; 0: never. */
  soloRoomTimeoutMs: number;
  /** UNUSED_ROOM_TIMEOUT_S: a room nobody started ends this long after its scheduled start, or its creation; 0: never. */
  unusedRoomTimeoutMs: number;
  /** RECONNECT_GRACE_S: a member or waiting user with no socket attached leaves after this. */
  reconnectGraceMs: number;
  /** LOBBY_REJECT_COOLDOWN_S: a rejected user may not knock again before this; 0: at once. */
  lobbyRejectCooldownMs: number;
  /** SCHEDULED_END_WARNING_S: how long before a room ends at its scheduled end everyone is warned. */
  scheduledEndWarningMs: number;
}

export interface RoomContext {
  roomId: string;
  roomCode: string;
  name: string;
  hostId: string;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  schedule: Schedule;
  settings: ContextSettings;
  participants: Record<string, Participant>;
  lobby: Record<string, LobbyEntry>;
  /** Users removed by the host: they may not join again. */
  removed: string[];
  /** Rejected users who may not knock (wait in the lobby) again before then, epoch ms. */
  knockCooldowns: Record<string, number>;
  activeSpeaker: string | null;
  /** Members speaking right now, with the level (dBFS) they started at. Not stored: it lives seconds. */
  speaking: Record<string, number>;
  /** Each user's sockets and reconnect deadline, member or not; a user with neither has no entry. */
  presence: Record<string, Presence>;
  /** When an active room with nobody in it ends by itself (epoch ms), or null. */
  emptyDeadline: number | null;
  /** When an active room with one participant ends by itself (epoch ms), or null. */
  soloDeadline: number | null;
  /** When a room nobody started ends by itself (epoch ms), or null: set while pending. */
  unusedDeadline: number | null;
  /** When an active room that ends at its scheduled end does (epoch ms), or null (schedule.steps.ts). */
  closingDeadline: number | null;
  /** When everyone in it is warned of that (epoch ms), or null: not yet armed, or already warned. */
  closingWarning: number | null;
  timings: RoomTimings;
  /** Set only on a refused command's snapshot, which is never adopted. */
  refusal: Refusal | null;
}

export type RoomInput = Pick<RoomContext, 'roomId' | 'roomCode' | 'name' | 'hostId' | 'createdAt' | 'schedule' | 'timings'> & { settings: RoomSettings };

/**
 * A new room's context: pending, nobody in it. The input's fields are copied one by one: V8 takes
 * a slow path (about 13 µs per call here) for `{ ...input }` followed by this many new keys.
 */
export const initialRoomContext = (input: RoomInput): RoomContext => ({
  roomId: input.roomId,
  roomCode: input.roomCode,
  name: input.name,
  hostId: input.hostId,
  createdAt: input.createdAt,
  schedule: input.schedule,
  settings: contextSettings(input.settings),
  timings: input.timings,
  knockCooldowns: {},
  startedAt: null,
  endedAt: null,
  participants: {},
  lobby: {},
  removed: [],
  activeSpeaker: null,
  speaking: {},
  presence: {},
  emptyDeadline: null,
  soloDeadline: null,
  unusedDeadline: unusedDeadlineOf(input, input.timings),
  closingDeadline: null,
  closingWarning: null,
  refusal: null,
});

/** When a room ends if nobody starts it, counted from its scheduled start or else its creation; null with UNUSED_ROOM_TIMEOUT_S=0. */
export const unusedDeadlineOf = (room: { createdAt: number; schedule: Schedule }, timings: RoomTimings): number | null =>
  timings.unusedRoomTimeoutMs > 0 ? (room.schedule.startAt ?? room.createdAt) + timings.unusedRoomTimeoutMs : null;

/** Commands. `at` is the server's clock; `by` is the acting user. */
export type RoomEvent =
  /** `invited`: the joiner holds a valid invitation to this room (checked before, invitations.service.ts): a locked room lets them in. */
  | { type: 'join'; at: number; userId: string; displayName: string; language: string | null; hardwareReady: boolean; invited?: boolean }
  | { type: 'admit'; at: number; by: string; userId: string }
  | { type: 'admitAll'; at: number; by: string }
  | { type: 'reject'; at: number; by: string; userId: string }
  /** Turns everyone waiting away at once. */
  | { type: 'rejectAll'; at: number; by: string }
  /** Asks one participant (`userId`), or every participant but the asker (`null`), to mute. The media lives in the SFU. */
  | { type: 'requestMute'; at: number; by: string; userId: string | null }
  | { type: 'remove'; at: number; by: string; userId: string }
  /** The host makes a participant a co-host, or a guest again. */
  | { type: 'setCoHost'; at: number; by: string; userId: string; coHost: boolean }
  | { type: 'leave'; at: number; userId: string; reason: 'left' | 'disconnected' }
  /** A waiting user gives up (`lobby:cancel`); unlike leave, it never takes a participant out. */
  | { type: 'cancelWaiting'; at: number; userId: string }
  /** A socket of the user attaches to the room or goes away (presence). */
  | { type: 'attach'; at: number; userId: string; connectionId: string }
  | { type: 'detach'; at: number; userId: string; connectionId: string }
  | { type: 'setHardware'; at: number; userId: string; hardwareReady: boolean }
  /** A participant's client says whether its microphone and camera are on (`media:state`). */
  | { type: 'setMedia'; at: number; userId: string; media: MediaState }
  /** From the speaking detector (src/realtime/speaking-detector.ts): only starts and stops arrive here. */
  | { type: 'speakingStarted'; at: number; userId: string; level: number }
  | { type: 'speakingStopped'; at: number; userId: string }
  | { type: 'end'; at: number; by: string }
  | { type: 'configure'; at: number; by: string; settings: SettingsPatch; schedule?: SchedulePatch }
  | { type: 'viewParticipants'; at: number; by: string }
  /** A participant's socket (`connectionId`) sends another participant (`to`) a WebRTC description or candidate. */
  | { type: 'signal'; at: number; userId: string; connectionId: string; to: string; signal: RtcSignalBody }
  /** Sent by the deadline scheduler when a stored deadline (empty room, reconnect grace) is due. */
  | { type: 'expire'; at: number };

/** A durable change: the runtime writes these to PostgreSQL in one transaction per command. */
export type DurableChange =
  | { kind: 'roomStarted'; at: number }
  | { kind: 'roomEnded'; at: number }
  | { kind: 'settingsChanged'; settings: RoomSettings }
  | { kind: 'scheduleChanged'; schedule: Schedule }
  | { kind: 'attendanceOpened'; userId: string; role: Role; at: number }
  | { kind: 'attendanceClosed'; userId: string; reason: LeaveReason; at: number };

/**
 * What the room tells its members; the realtime layer turns each into a docs/realtime.md "Events" event.
 * `channel:join`/`channel:leave` name the sockets (connections) that start or stop receiving the
 * room's events: a participant's attached sockets, and only those. Published in order with the
 * rest, so a socket never misses or overhears an event around a change of membership.
 */
export type RoomNotice =
  /** `tuning`: the room's speaker tuning, when it has its own, for the nodes holding these sockets. */
  | { type: 'channel:join'; connections: string[]; tuning?: SpeakerTuning }
  | { type: 'channel:leave'; connections: string[] }
  | { type: 'lobby:waiting'; userId: string; reason: WaitingReason }
  /** `moderators`: the host and the co-hosts, who are told about the lobby. */
  | { type: 'lobby:entered'; moderators: string[]; userId: string; displayName: string }
  | { type: 'lobby:left'; moderators: string[]; userId: string }
  | { type: 'lobby:admitted'; userId: string }
  | { type: 'lobby:rejected'; userId: string }
  | { type: 'participant:joined'; participant: Participant }
  | { type: 'participant:updated'; participant: Participant }
  | { type: 'participant:left'; userId: string; reason: LeaveReason }
  | { type: 'participant:removed'; userId: string }
  | { type: 'participant:mute_requested'; userIds: string[]; by: string; at: number }
  | { type: 'speaker:changed'; userId: string | null; at: number }
  | { type: 'room:updated'; settings: RoomSettings; status: 'pending' | 'active'; schedule: Schedule }
  /** The room's speaker tuning changed: every node's detectors for the room's sockets take it. */
  | { type: 'speaker:tuned'; tuning: SpeakerTuning }
  /** `userIds`: everyone in the room or its lobby, told on their own channels too. */
  | { type: 'room:ended'; at: number; userIds: string[] }
  /** The room ends at `endsAt` by itself (its scheduled end, with `end_at_scheduled_end`): a warning to everyone in it. */
  | { type: 'room:ending'; endsAt: number }
  /** A signal for one socket: the media socket of the participant it was sent to. */
  | { type: 'rtc:signal'; connection: string; from: string; signal: RtcSignalBody }
  /** A newer socket of the same participant carries their media now. */
  | { type: 'rtc:superseded'; connections: string[] };

/** What a signal carries: one WebRTC description, or one ICE candidate (null: no more candidates). */
export interface RtcSignalBody {
  description?: { type: 'offer' | 'answer'; sdp: string };
  candidate?: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null; usernameFragment?: string | null } | null;
}
