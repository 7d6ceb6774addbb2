import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../auth/tokens';
import type {
  ConfigBody,
  CreateRoomBody,
  HistoryPage,
  HistoryQuery,
  JoinBody,
  LobbyEntryView,
  ParticipantView,
  RoomView,
  UpcomingPage,
  UpcomingQuery,
} from '../contract/schemas';
import { AppError } from '../errors/app-error';
import { newRoomSummary, type RoomRouter, type RoomSummary } from './room-router';
import type { RoomSettings, SettingsPatch } from './room.types';
import { scheduleProblem, type Schedule, type SchedulePatch } from './schedule';
import { withPatch } from './step-helpers';
import { queryHistory } from './room-history';
import { queryUpcoming } from './room-upcoming';
import { joinUrlOf, toParticipantView, toRosterView, toRoomView } from './room-views';

/**
 * The meetings API behind the routes. Creating a room and reading history touch PostgreSQL
 * directly (no room actor exists yet, or any more); everything about a room goes through the
 * room router, which runs it on the room's actor wherever that is.
 */
export interface MeetingsService {
  create(principal: Principal, body: CreateRoomBody): Promise<RoomView>;
  history(principal: Principal, query: HistoryQuery): Promise<HistoryPage>;
  upcoming(principal: Principal, query: UpcomingQuery): Promise<UpcomingPage>;
  details(principal: Principal, roomCode: string): Promise<RoomView>;
  participants(principal: Principal, roomCode: string): Promise<{ participants: ParticipantView[]; lobby?: LobbyEntryView[] }>;
  join(principal: Principal, roomCode: string, body: JoinBody): Promise<{ status: 'joined' | 'waiting'; room: RoomView; participant?: ParticipantView }>;
  admit(principal: Principal, roomCode: string, userId: string): Promise<{ status: 'admitted'; participant: ParticipantView }>;
  admitAll(principal: Principal, roomCode: string): Promise<{ admitted: string[]; waiting: string[] }>;
  rejectAll(principal: Principal, roomCode: string): Promise<{ rejected: string[] }>;
  /** The host makes a participant a co-host (`coHost`), or a guest again. */
  setCoHost(principal: Principal, roomCode: string, userId: string, coHost: boolean): Promise<{ participant: ParticipantView }>;
  /** `userId` null: every participant but the caller. */
  requestMute(principal: Principal, roomCode: string, userId: string | null): Promise<{ requested: string[] }>;
  reject(principal: Principal, roomCode: string, userId: string): Promise<{ status: 'rejected' }>;
  remove(principal: Principal, roomCode: string, userId: string): Promise<{ status: 'removed' }>;
  leave(principal: Principal, roomCode: string): Promise<{ status: 'left' }>;
  end(principal: Principal, roomCode: string): Promise<RoomView>;
  configure(principal: Principal, roomCode: string, body: ConfigBody): Promise<ConfigResult>;
}

export interface ConfigResult {
  settings: RoomSettings;
  scheduled_start_at: string | null;
  scheduled_end_at: string | null;
}

export interface MeetingsDeps {
  /** The ORM's entity manager: history reads through it (plain SQL, no identity map). */
  em: EntityManager;
  rooms: RoomRouter;
  /**
   * Checks and binds a join's invitation token for the user, or throws INVITATION_INVALID having
   * changed nothing (invitations/invitations.service.ts; rooms do not import it).
   */
  redeemInvitation(userId: string, roomCode: string, token: string): Promise<void>;
  /** The base of share links, asked each time (unset, it follows the port the node listens on). */
  publicBaseUrl(): string;
  defaultMaxParticipants: number;
}

/** 9 bytes from the CSPRNG, base64url: 12 characters, 72 bits (docs/api.md "Meetings", codes). */
const newRoomCode = () => randomBytes(9).toString('base64url');
const codeAttempts = 5;

const msOrNull = (iso: string | null | undefined): number | null | undefined => (iso === undefined ? undefined : iso === null ? null : Date.parse(iso));
const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A new room's schedule, checked against the clock now: VALIDATION_FAILED names the field. */
function newSchedule(body: CreateRoomBody, now: number): Schedule {
  const schedule = { startAt: msOrNull(body.scheduled_start_at) ?? null, endAt: msOrNull(body.scheduled_end_at) ?? null };
  const problem = scheduleProblem(schedule, now, true);
  if (problem) throw new AppError('VALIDATION_FAILED', `${problem.path} ${problem.message}`, [problem]);
  return schedule;
}

/** PATCH config's body as the room takes it: the settings, and the schedule keys given. */
function splitConfig(body: ConfigBody): { settings: SettingsPatch; schedule?: SchedulePatch } {
  const { scheduled_start_at, scheduled_end_at, ...settings } = body;
  if (scheduled_start_at === undefined && scheduled_end_at === undefined) return { settings };
  return { settings, schedule: { startAt: msOrNull(scheduled_start_at), endAt: msOrNull(scheduled_end_at) } };
}

/**
 * docs/api.md "Meetings": NOT_A_PARTICIPANT is 403 for a caller who is not in the room, but 409 when
 * the caller names someone who is not (a conflict with the room's state).
 */
const namedSomeoneAbsent = (error: unknown): never => {
  throw error instanceof AppError && error.code === 'NOT_A_PARTICIPANT' ? error.withStatus(409) : error;
};

export function createMeetingsService(deps: MeetingsDeps): MeetingsService {
  const { em, rooms } = deps;
  const view = (room: RoomSummary, principal: Principal) => toRoomView(room, principal.userId, deps.publicBaseUrl());

  return {
    async create(principal, body) {
      if (principal.isGuest) throw new AppError('GUESTS_CANNOT_HOST');
      const settings = withPatch({ lock_room: false, enable_transcription: false, max_participants: deps.defaultMaxParticipants }, body.settings ?? {});
      const schedule = newSchedule(body, Date.now());
      // A collision of 72 random bits is all but impossible; the unique index decides anyway.
      for (let attempt = 1; attempt <= codeAttempts; attempt++) {
        const room = { id: randomUUID(), roomCode: newRoomCode(), hostId: principal.userId, name: body.name, settings, schedule, createdAt: Date.now() };
        if (!(await rooms.create(room))) continue;
        return view(newRoomSummary(room), principal);
      }
      throw new Error(`no free room code in ${codeAttempts} attempts`);
    },

    history: (principal, query) => queryHistory(em, principal.userId, query),
    upcoming: (principal, query) => queryUpcoming(em, principal.userId, query, (roomCode) => joinUrlOf(deps.publicBaseUrl(), roomCode)),

    async details(principal, roomCode) {
      return view((await rooms.dispatch(roomCode, { type: 'inspect' })).room, principal);
    },

    async participants(principal, roomCode) {
      const reply = await rooms.dispatch(roomCode, { type: 'viewParticipants', by: principal.userId });
      return toRosterView(reply, principal.userId);
    },

    async join(principal, roomCode, body) {
      const invited = body.invitation_token !== undefined;
      if (invited) await deps.redeemInvitation(principal.userId, roomCode, body.invitation_token!);
      const reply = await rooms.dispatch(roomCode, {
        type: 'join',
        userId: principal.userId,
        displayName: principal.displayName,
        language: body.language ?? null,
        hardwareReady: body.hardware_ready ?? false,
        invited,
      });
      return {
        status: reply.joined ? 'joined' : 'waiting',
        room: view(reply.room, principal),
        ...(reply.participant ? { participant: toParticipantView(reply.participant) } : {}),
      };
    },

    async admit(principal, roomCode, userId) {
      const reply = await rooms.dispatch(roomCode, { type: 'admit', by: principal.userId, userId });
      return { status: 'admitted', participant: toParticipantView(reply.participant) };
    },

    async admitAll(principal, roomCode) {
      const { admitted, waiting } = await rooms.dispatch(roomCode, { type: 'admitAll', by: principal.userId });
      return { admitted, waiting };
    },

    async setCoHost(principal, roomCode, userId, coHost) {
      const { participant } = await rooms.dispatch(roomCode, { type: 'setCoHost', by: principal.userId, userId, coHost }).catch(namedSomeoneAbsent);
      return { participant: toParticipantView(participant) };
    },

    async rejectAll(principal, roomCode) {
      const { rejected } = await rooms.dispatch(roomCode, { type: 'rejectAll', by: principal.userId });
      return { rejected };
    },

    async requestMute(principal, roomCode, userId) {
      const { requested } = await rooms.dispatch(roomCode, { type: 'requestMute', by: principal.userId, userId }).catch(namedSomeoneAbsent);
      return { requested };
    },

    async reject(principal, roomCode, userId) {
      await rooms.dispatch(roomCode, { type: 'reject', by: principal.userId, userId });
      return { status: 'rejected' };
    },

    async remove(principal, roomCode, userId) {
      await rooms.dispatch(roomCode, { type: 'remove', by: principal.userId, userId }).catch(namedSomeoneAbsent);
      return { status: 'removed' };
    },

    async leave(principal, roomCode) {
      await rooms.dispatch(roomCode, { type: 'leave', userId: principal.userId, reason: 'left' });
      return { status: 'left' };
    },

    async end(principal, roomCode) {
      return view((await rooms.dispatch(roomCode, { type: 'end', by: principal.userId })).room, principal);
    },

    async configure(principal, roomCode, body) {
      const { room } = await rooms.dispatch(roomCode, { type: 'configure', by: principal.userId, ...splitConfig(body) });
      return { settings: room.settings, scheduled_start_at: isoOrNull(room.schedule.startAt), scheduled_end_at: isoOrNull(room.schedule.endAt) };
    },
  };
}
