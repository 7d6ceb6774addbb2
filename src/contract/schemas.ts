import { z } from 'zod';

/**
 * Every REST request body of the wire contract (docs/api.md), validated at the edge. Objects
 * are strict: unknown fields are rejected. Response shapes are here too, so that the OpenAPI
 * document (contract/openapi.ts) is generated from the same source. Issue #4 adds the
 * Socket.IO payloads.
 */

/** Lone UTF-16 surrogates cannot be stored as UTF-8: PostgreSQL would receive U+FFFD instead. */
const wellFormed = (text: string) => text.isWellFormed();
const notWellFormed = 'must be valid Unicode text';

export const displayName = z
  .string()
  .refine(wellFormed, notWellFormed)
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .refine((name) => !/\p{Cc}/u.test(name), 'must not contain control characters');

/** How an email is compared and stored: `Ann@X.org ` and `ann@x.org` are one account. */
export const normalizeEmail = (raw: string): string => raw.trim().toLowerCase();

export const email = z.string().overwrite(normalizeEmail).max(254, 'must be at most 254 characters').pipe(z.email('must be a valid email address'));

// The upper bound keeps one login from costing unbounded hashing work.
const password = z.string().min(8, 'must be at least 8 characters').max(256, 'must be at most 256 characters').refine(wellFormed, notWellFormed);

export const registerBody = z.strictObject({ email, password, display_name: displayName });
export type RegisterBody = z.infer<typeof registerBody>;

export const loginBody = z.strictObject({ email, password: z.string().min(1, 'is required').max(256).refine(wellFormed, notWellFormed) });
export type LoginBody = z.infer<typeof loginBody>;

export const guestBody = z.strictObject({ display_name: displayName });
export type GuestBody = z.infer<typeof guestBody>;

/** `User` of the contract. */
export const userView = z.object({
  id: z.uuid(),
  email: z.string().nullable(),
  display_name: z.string(),
  is_guest: z.boolean(),
});
export type UserView = z.infer<typeof userView>;

/** `Session` of the contract: what register, login and guest return. */
export const sessionView = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int().describe('seconds until the token expires'),
  user: userView,
});
export type SessionView = z.infer<typeof sessionView>;

// ---------------------------------------------------------------------------------------------
// Meetings (`/api/v1/meetings`). The participant cap's upper bound is configuration
// (MAX_PARTICIPANTS_LIMIT), so the bodies that carry it are built from the limits.

/** 9 random bytes in base64url: exactly 12 characters of A-Z a-z 0-9 - _. */
export const roomCodePattern = /^[A-Za-z0-9_-]{12}$/;

const roomName = z
  .string()
  .refine(wellFormed, notWellFormed)
  .trim()
  .min(1, 'must not be empty')
  .max(120, 'must be at most 120 characters')
  .refine((name) => !/\p{Cc}/u.test(name), 'must not contain control characters');

/** A BCP 47 language tag such as `en` or `pt-BR` (shape only; the server does not interpret it). */
const language = z
  .string()
  .regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, 'must be a language tag such as en or pt-BR')
  .max(35);

export interface MeetingLimits {
  maxParticipantsLimit: number;
  /** ROOM_SPEAKER_THRESHOLD_DB_RANGE and ROOM_SPEAKER_MIN_MS_RANGE: what a room may choose. */
  speakerThresholdDb: Range;
  speakerMinMs: Range;
}

export interface Range {
  min: number;
  max: number;
}

const within = (schema: z.ZodNumber, range: Range) => schema.min(range.min, `must be at least ${range.min}`).max(range.max, `must be at most ${range.max}`);

/** The request bodies of /meetings whose bounds depend on the configuration. */
export function meetingBodies(limits: MeetingLimits) {
  const settings = z.strictObject({
    lock_room: z.boolean(),
    enable_transcription: z.boolean(),
    max_participants: z
      .number()
      .int('must be an integer')
      .min(2, 'must be at least 2')
      .max(limits.maxParticipantsLimit, `must be at most ${limits.maxParticipantsLimit}`),
    speaker_threshold_db: within(z.number(), limits.speakerThresholdDb)
      .nullable()
      .describe("the room's own active-speaker threshold (dBFS); null or absent: the server's ACTIVE_SPEAKER_THRESHOLD_DB"),
    speaker_min_ms: within(z.number().int('must be an integer'), limits.speakerMinMs)
      .nullable()
      .describe("how long (ms) a level must stay at the threshold in this room; null or absent: the server's ACTIVE_SPEAKER_MIN_MS"),
    end_at_scheduled_end: z.boolean().describe('end the meeting at scheduled_end_at, warning everyone SCHEDULED_END_WARNING_S ahead; default false'),
  });
  const schedule = {
    scheduled_start_at: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 date-time such as 2026-12-24T09:30:00Z' })
      .nullable()
      .describe('when the host plans to start; null: not scheduled (clears the end too)'),
    scheduled_end_at: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 date-time such as 2026-12-24T10:30:00Z' })
      .nullable()
      .describe('when the host plans to end; needs a start'),
  };
  return {
    createRoomBody: z
      .strictObject({ name: roomName, settings: settings.partial().optional(), ...schedule })
      .partial({ scheduled_start_at: true, scheduled_end_at: true }),
    /** PATCH /{room_code}/config: any subset of the settings and the schedule. */
    configBody: settings.extend(schedule).partial(),
  };
}
export type CreateRoomBody = z.infer<ReturnType<typeof meetingBodies>['createRoomBody']>;
export type ConfigBody = z.infer<ReturnType<typeof meetingBodies>['configBody']>;

export const joinBody = z.strictObject({
  language: language.optional(),
  hardware_ready: z.boolean().optional(),
  // Any text: one that is not a valid token of this room is 403 INVITATION_INVALID, not a 400.
  invitation_token: z.string().max(256, 'must be at most 256 characters').optional().describe("the token of an invite link's `invitation` parameter"),
});
export type JoinBody = z.infer<typeof joinBody>;

/** Routes that take no body accept none, `{}`, or an empty JSON body; anything else is an unknown field. */
export const emptyBody = z.strictObject({}).optional();

export const historyQuery = z.object({
  limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
  cursor: z.string().max(200).optional(),
  role: z.enum(['host', 'participant', 'all']).default('host'),
});
export type HistoryQuery = z.infer<typeof historyQuery>;

export const roomSettingsView = z.object({
  lock_room: z.boolean(),
  enable_transcription: z.boolean(),
  max_participants: z.number().int(),
  speaker_threshold_db: z.number().optional().describe('present only when the room has its own threshold'),
  speaker_min_ms: z.number().int().optional().describe('present only when the room has its own minimum'),
  end_at_scheduled_end: z.boolean().optional().describe('present (true) only when the meeting ends at its scheduled end'),
});
export type RoomSettingsView = z.infer<typeof roomSettingsView>;

export const timestamp = z.iso.datetime();

/** `Room` of the contract. `lobby_count` is present for the host only. */
export const roomView = z.object({
  room_code: z.string(),
  name: z.string(),
  status: z.enum(['pending', 'active', 'ended']),
  host_id: z.uuid(),
  settings: roomSettingsView,
  created_at: timestamp,
  started_at: timestamp.nullable(),
  ended_at: timestamp.nullable(),
  scheduled_start_at: timestamp.nullable().describe('when the host plans to start the meeting; null: not scheduled'),
  scheduled_end_at: timestamp.nullable().describe('when the host plans to end it; null: no planned end'),
  participant_count: z.number().int().describe('people in the room now (0 once it ended)'),
  join_url: z.string(),
  lobby_count: z.number().int().optional().describe('people waiting in the lobby; the host only'),
});
export type RoomView = z.infer<typeof roomView>;

/** `Participant` of the contract. */
export const participantView = z.object({
  user_id: z.uuid(),
  display_name: z.string(),
  role: z.enum(['host', 'co_host', 'guest']),
  status: z.enum(['connected', 'disconnected']),
  language: z.string().nullable(),
  hardware_ready: z.boolean(),
  joined_at: timestamp,
  media: z
    .object({ audio: z.boolean(), video: z.boolean() })
    .nullable()
    .describe('microphone and camera on or off in the call, as their client said (socket `media:state`); null until it says'),
});
export type ParticipantView = z.infer<typeof participantView>;

/** Someone waiting in the lobby, as the host sees them (served in this order). */
export const lobbyEntryView = z.object({
  user_id: z.uuid(),
  display_name: z.string(),
  language: z.string().nullable(),
  hardware_ready: z.boolean(),
  waiting_since: timestamp,
  invited: z.boolean().describe('joined with a valid invitation: comes in when the host starts the meeting, even if the room is locked'),
});
export type LobbyEntryView = z.infer<typeof lobbyEntryView>;

export const joinResult = z.object({ status: z.enum(['joined', 'waiting']), room: roomView, participant: participantView.optional() });
export const participantsResult = z.object({ participants: z.array(participantView), lobby: z.array(lobbyEntryView).optional() });
export const admitResult = z.object({ status: z.literal('admitted'), participant: participantView });
export const admitAllResult = z.object({ admitted: z.array(z.uuid()), waiting: z.array(z.uuid()) });
export const participantResult = z.object({ participant: participantView });
export const rejectAllResult = z.object({ rejected: z.array(z.uuid()) });
export const muteRequestResult = z.object({ requested: z.array(z.uuid()) });
export const statusResult = z.object({ status: z.enum(['rejected', 'removed', 'left']) });
export const settingsResult = z.object({ settings: roomSettingsView, scheduled_start_at: timestamp.nullable(), scheduled_end_at: timestamp.nullable() });

export const historyItemView = z.object({
  room_code: z.string(),
  name: z.string(),
  role: z.enum(['host', 'guest']).describe("the caller's role in that room, as in participants.role"),
  created_at: timestamp,
  started_at: timestamp.nullable(),
  ended_at: timestamp,
  duration_seconds: z.number().int().describe('ended_at - started_at; 0 for a room that never started'),
  participant_count: z.number().int().describe('distinct users who attended'),
});
export type HistoryItemView = z.infer<typeof historyItemView>;
export const historyPage = z.object({ items: z.array(historyItemView), next_cursor: z.string().nullable() });
export type HistoryPage = z.infer<typeof historyPage>;

export const upcomingQuery = historyQuery.pick({ limit: true, cursor: true });
export type UpcomingQuery = z.infer<typeof upcomingQuery>;

export const upcomingItemView = z.object({
  room_code: z.string(),
  name: z.string(),
  role: z.enum(['host', 'invitee']).describe('whether the caller hosts the meeting or was invited to it'),
  status: z.enum(['pending', 'active']).describe('active: it has started and not ended'),
  scheduled_start_at: timestamp,
  scheduled_end_at: timestamp.nullable(),
  join_url: z.string(),
});
export const upcomingPage = z.object({ items: z.array(upcomingItemView), next_cursor: z.string().nullable() });
export type UpcomingPage = z.infer<typeof upcomingPage>;

// ---------------------------------------------------------------------------------------------
// Socket.IO payloads (client → server, docs/realtime.md "Events"). The event map is contract/events.ts.

const roomCode = z.string().regex(roomCodePattern, 'must be a room code (12 characters of A-Z a-z 0-9 - _)');

/** `room:attach`, `room:detach`, `lobby:cancel`. */
export const roomCodePayload = z.strictObject({ room_code: roomCode });
export type RoomCodePayload = z.infer<typeof roomCodePayload>;

/** `audio:level`: the microphone level in dBFS. */
export const audioLevelPayload = z.strictObject({ room_code: roomCode, level: z.number().min(-127).max(0) });
export type AudioLevelPayload = z.infer<typeof audioLevelPayload>;

/**
 * `rtc:signal`: one WebRTC description or ICE candidate for another participant (docs/calls.md "Signaling").
 * Exactly one of `description` and `candidate`; a null candidate says the sender's candidates are
 * complete. The SDP is capped well under the socket's 64 kB frame.
 */
const sessionDescription = z.strictObject({ type: z.enum(['offer', 'answer']), sdp: z.string().min(1).max(32_000) });
const iceCandidate = z.strictObject({
  candidate: z.string().max(1024),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(1023).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});
export const rtcSignalPayload = z
  .strictObject({ room_code: roomCode, to: z.uuid(), description: sessionDescription.optional(), candidate: iceCandidate.nullable().optional() })
  .refine((p) => (p.description === undefined) !== (p.candidate === undefined), {
    message: 'must carry exactly one of description and candidate',
    path: ['description'],
  });
export type RtcSignalPayload = z.infer<typeof rtcSignalPayload>;

/** `media:state`: whether the sender's microphone and camera are on. */
export const mediaStatePayload = z.strictObject({ room_code: roomCode, audio: z.boolean(), video: z.boolean() });
export type MediaStatePayload = z.infer<typeof mediaStatePayload>;

/** `hardware:status`. */
export const hardwareStatusPayload = z.strictObject({ room_code: roomCode, hardware_ready: z.boolean() });
export type HardwareStatusPayload = z.infer<typeof hardwareStatusPayload>;
