import type { z } from 'zod';
import { problemSchema, type ErrorCode } from './errors';
import {
  admitAllResult,
  admitResult,
  guestBody,
  historyPage,
  historyQuery,
  joinBody,
  joinResult,
  lobbyEntryView,
  loginBody,
  meetingBodies,
  muteRequestResult,
  participantResult,
  participantsResult,
  participantView,
  registerBody,
  rejectAllResult,
  roomView,
  sessionView,
  settingsResult,
  statusResult,
  type MeetingLimits,
  upcomingPage,
  upcomingQuery,
  userView,
} from './schemas';
import { invitationResult, invitationsBody, invitationsResult, invitationView } from './invitations';

/** The REST routes as the OpenAPI document (openapi.ts) describes them: each route's schemas, success and error codes. */

export interface Operation {
  summary: string;
  tag: string;
  /** Request body schema (validated input). */
  body?: z.ZodType;
  /** Query string schema. */
  query?: z.ZodObject;
  /** Whether the route needs `Authorization: Bearer`. */
  auth?: boolean;
  /** Success status and the component name of its body. */
  success: { status: number; component: keyof typeof components; description: string };
  /** Stable error codes this route may answer with, besides the validation ones. */
  errors: (ErrorCode | [ErrorCode, number])[];
}

export const components = {
  Problem: problemSchema,
  User: userView,
  Session: sessionView,
  Room: roomView,
  Participant: participantView,
  LobbyEntry: lobbyEntryView,
  JoinResult: joinResult,
  Participants: participantsResult,
  AdmitResult: admitResult,
  ParticipantResult: participantResult,
  AdmitAllResult: admitAllResult,
  RejectAllResult: rejectAllResult,
  MuteRequestResult: muteRequestResult,
  StatusResult: statusResult,
  SettingsResult: settingsResult,
  HistoryPage: historyPage,
  Invitation: invitationView,
  Invitations: invitationsResult,
  InvitationResult: invitationResult,
  UpcomingPage: upcomingPage,
} as const;

export type Operations = Record<string, Partial<Record<'get' | 'post' | 'patch' | 'delete', Operation>>>;

/** Every route of docs/api.md with its schemas and error codes. */
export function operations(limits: MeetingLimits): Operations {
  const ops: Operations = {};
  const route = (method: 'get' | 'post' | 'patch' | 'delete', path: string, operation: Operation) => {
    (ops[path] ??= {})[method] = operation;
  };
  route('post', '/api/v1/auth/register', {
    tag: 'auth',
    summary: 'Create an account and a session',
    body: registerBody,
    success: { status: 201, component: 'Session', description: 'The new account and its session' },
    errors: ['EMAIL_TAKEN'],
  });
  route('post', '/api/v1/auth/login', {
    tag: 'auth',
    summary: 'Start a session with email and password',
    body: loginBody,
    success: { status: 200, component: 'Session', description: 'A new session' },
    errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED'],
  });
  route('post', '/api/v1/auth/guest', {
    tag: 'auth',
    summary: 'Create a guest account (display name only) and its session',
    body: guestBody,
    success: { status: 201, component: 'Session', description: 'The guest account and its session' },
    errors: [],
  });
  route('get', '/api/v1/auth/me', {
    tag: 'auth',
    summary: 'The account of the bearer token',
    auth: true,
    success: { status: 200, component: 'User', description: 'The caller' },
    errors: [],
  });

  const { createRoomBody, configBody } = meetingBodies(limits);
  const m = '/api/v1/meetings';
  // Every route below goes through the room's actor: in a cluster it may time out (504).
  const live: ErrorCode[] = ['ROOM_NOT_FOUND', 'UNAVAILABLE', 'ROOM_TIMEOUT'];
  const meeting = (method: 'get' | 'post' | 'patch' | 'delete', path: string, op: Omit<Operation, 'tag' | 'auth'>) =>
    route(method, `${m}${path}`, { tag: 'meetings', auth: true, ...op });
  meeting('post', '', {
    summary: 'Create a room (not for guests)',
    body: createRoomBody,
    success: { status: 201, component: 'Room', description: 'The new room, pending until its host joins' },
    errors: ['GUESTS_CANNOT_HOST', 'VALIDATION_FAILED'],
  });
  meeting('get', '/history', {
    summary: 'Ended rooms the caller hosted (role=host), attended (participant) or both (all), newest first',
    query: historyQuery,
    success: { status: 200, component: 'HistoryPage', description: 'One page; pass next_cursor back as cursor for the next' },
    errors: ['VALIDATION_FAILED'],
  });
  meeting('get', '/upcoming', {
    summary: 'Scheduled meetings, not ended, that the caller hosts or was invited to, soonest first',
    query: upcomingQuery,
    success: { status: 200, component: 'UpcomingPage', description: 'One page; pass next_cursor back as cursor for the next' },
    errors: ['VALIDATION_FAILED'],
  });
  meeting('get', '/{room_code}', {
    summary: 'A room, ended ones too',
    success: { status: 200, component: 'Room', description: 'The room; lobby_count for the host' },
    errors: live,
  });
  meeting('get', '/{room_code}/participants', {
    summary: 'Who is in the room (participants only); the host also gets the lobby',
    success: { status: 200, component: 'Participants', description: 'Participants by joining time; lobby in serving order' },
    errors: ['NOT_A_PARTICIPANT', ...live],
  });
  meeting('post', '/{room_code}/join', {
    summary: 'Join, or wait in the lobby (locked room, or host not there yet)',
    body: joinBody,
    success: { status: 200, component: 'JoinResult', description: 'joined, or waiting in the lobby' },
    errors: ['ROOM_FULL', 'REMOVED_FROM_ROOM', 'INVITATION_INVALID', 'LOBBY_COOLDOWN', ...live],
  });
  meeting('post', '/{room_code}/invitations', {
    summary: "Invite people by email (host, co-host); each invitation's link skips a locked room's lobby",
    body: invitationsBody,
    success: { status: 201, component: 'Invitations', description: 'The invitations, each with its invite_url (shown only here)' },
    errors: ['NOT_HOST', 'VALIDATION_FAILED', 'RATE_LIMITED', ...live],
  });
  meeting('get', '/{room_code}/invitations', {
    summary: "The room's invitations and their status (host, co-host)",
    success: { status: 200, component: 'Invitations', description: 'Oldest first; invite_url is null' },
    errors: ['NOT_HOST', ...live],
  });
  meeting('delete', '/{room_code}/invitations/{invitation_id}', {
    summary: 'Revoke an invitation: its link stops working (host, co-host)',
    success: { status: 200, component: 'InvitationResult', description: 'The invitation, revoked (also if it already was)' },
    errors: ['NOT_HOST', 'NOT_FOUND', 'VALIDATION_FAILED', ...live],
  });
  meeting('post', '/{room_code}/admit/{user_id}', {
    summary: 'Let a waiting user in (host)',
    success: { status: 200, component: 'AdmitResult', description: 'The user is a participant (also if already admitted)' },
    errors: ['NOT_HOST', 'NOT_IN_LOBBY', 'ROOM_FULL', 'VALIDATION_FAILED', ...live],
  });
  meeting('post', '/{room_code}/admit-all', {
    summary: 'Let everyone waiting in, as far as the cap allows (host)',
    success: { status: 200, component: 'AdmitAllResult', description: 'Who came in and who still waits' },
    errors: ['NOT_HOST', ...live],
  });
  meeting('post', '/{room_code}/reject/{user_id}', {
    summary: 'Turn a waiting user away; they may ask again (host)',
    success: { status: 200, component: 'StatusResult', description: 'rejected' },
    errors: ['NOT_HOST', 'NOT_IN_LOBBY', 'VALIDATION_FAILED', ...live],
  });
  meeting('post', '/{room_code}/co-hosts/{user_id}', {
    summary: 'Make a participant a co-host: they may admit, reject, remove guests and ask to mute, while in the room (host)',
    success: { status: 200, component: 'ParticipantResult', description: 'The participant, role co_host' },
    errors: ['NOT_HOST', ['NOT_A_PARTICIPANT', 409], 'VALIDATION_FAILED', ...live],
  });
  meeting('delete', '/{room_code}/co-hosts/{user_id}', {
    summary: 'Make a co-host a guest again (host)',
    success: { status: 200, component: 'ParticipantResult', description: 'The participant, role guest' },
    errors: ['NOT_HOST', ['NOT_A_PARTICIPANT', 409], 'VALIDATION_FAILED', ...live],
  });
  meeting('post', '/{room_code}/reject-all', {
    summary: 'Turn everyone waiting away; they may ask again (host)',
    success: { status: 200, component: 'RejectAllResult', description: 'Who was turned away, in serving order' },
    errors: ['NOT_HOST', ...live],
  });
  meeting('post', '/{room_code}/mute/{user_id}', {
    summary: 'Ask a participant to mute: they get participant:mute_requested (host)',
    success: { status: 200, component: 'MuteRequestResult', description: 'Who was asked' },
    errors: ['NOT_HOST', ['NOT_A_PARTICIPANT', 409], 'VALIDATION_FAILED', ...live],
  });
  meeting('post', '/{room_code}/mute-all', {
    summary: 'Ask every other participant to mute (host)',
    success: { status: 200, component: 'MuteRequestResult', description: 'Who was asked' },
    errors: ['NOT_HOST', ...live],
  });
  meeting('post', '/{room_code}/remove/{user_id}', {
    summary: 'Remove a participant; they may not join again (host)',
    success: { status: 200, component: 'StatusResult', description: 'removed' },
    // The one code the contract answers with a status other than its usual one.
    errors: ['NOT_HOST', ['NOT_A_PARTICIPANT', 409], 'VALIDATION_FAILED', ...live],
  });
  meeting('post', '/{room_code}/leave', {
    summary: 'Leave the room or its lobby (also fine when not there; 404 once the room has ended)',
    success: { status: 200, component: 'StatusResult', description: 'left' },
    errors: live,
  });
  meeting('post', '/{room_code}/end', {
    summary: 'End the meeting for everyone (host); repeating it returns the same ended_at',
    success: { status: 200, component: 'Room', description: 'The ended room' },
    errors: ['NOT_HOST', ...live],
  });
  meeting('patch', '/{room_code}/config', {
    summary: 'Change settings or the schedule (host); turning lock_room off admits the lobby',
    body: configBody,
    success: { status: 200, component: 'SettingsResult', description: 'The settings and schedule now in force' },
    errors: ['NOT_HOST', 'VALIDATION_FAILED', ...live],
  });
  return ops;
}
