import {
  chain,
  dropGrace,
  freeSeats,
  graceEntry,
  graceFor,
  joinChannel,
  lobbyInOrder,
  nothing,
  settingKeys,
  socketsOf,
  speakerTuningOf,
  withLock,
  withPatch,
  without,
  withoutGrace,
  type Step,
} from './step-helpers';
import {
  contextSettings,
  moderates,
  type LeaveReason,
  type Participant,
  type Role,
  type RoomContext,
  type RoomNotice,
  type RoomSettings,
  type LobbyEntry,
  type SettingsPatch,
  type WaitingReason,
} from './room.types';
import type { SchedulePatch } from './schedule';
import { closingOf, rescheduled, sameSchedule, withSchedule } from './schedule.steps';

/**
 * Pure steps for who is in the room and its lobby, and for the room's life (start, end,
 * settings). See step-helpers.ts for what a step is.
 */

/** What a user brings when they come in, whether from the lobby or straight from joining. */
export type Seated = Pick<LobbyEntry, 'userId' | 'displayName' | 'language' | 'hardwareReady'>;
const pick = ({ userId, displayName, language, hardwareReady }: Seated): Seated => ({ userId, displayName, language, hardwareReady });

/** Makes users participants (from the lobby or straight in). */
export const seat =
  (users: Seated[], at: number) =>
  (c: RoomContext): Step => {
    // Copied once and changed in place, so seating everyone waiting (admit all) stays linear in
    // the room's size; entries keep their identity unless replaced (room-projection.ts diffs by it).
    const next = { participants: { ...c.participants }, lobby: { ...c.lobby }, presence: { ...c.presence } };
    const step = nothing();
    for (const user of users) {
      const role: Role = user.userId === c.hostId ? 'host' : 'guest';
      const connections = socketsOf(c, user.userId);
      const participant: Participant = { ...pick(user), role, status: connections.length > 0 ? 'connected' : 'disconnected', joinedAt: at, media: null };
      next.participants[user.userId] = participant;
      next.presence[user.userId] = graceEntry(next.presence[user.userId], at + c.timings.reconnectGraceMs);
      step.persist.push({ kind: 'attendanceOpened', userId: user.userId, role, at });
      if (next.lobby[user.userId]) {
        delete next.lobby[user.userId];
        step.notices.push({ type: 'lobby:admitted', userId: user.userId });
      }
      // The newcomer's sockets enter the channel first, so they hear their own arrival too.
      if (connections.length > 0) step.notices.push(joinChannel(c, connections));
      step.notices.push({ type: 'participant:joined', participant });
    }
    step.context = next;
    return step;
  };

/** Admits waiting users in lobby order while seats are free; `onlyInvited`: only those who came with an invitation. */
export const admitWaiting =
  (at: number, onlyInvited = false) =>
  (c: RoomContext): Step =>
    seat(
      lobbyInOrder(c)
        .filter((entry) => !onlyInvited || entry.invited)
        .slice(0, freeSeats(c)),
      at,
    )(c);

/** Lets one waiting user in; nothing if they no longer wait. */
export const admit =
  (userId: string, at: number) =>
  (c: RoomContext): Step => {
    const waiting = c.lobby[userId];
    return waiting ? seat([waiting], at)(c) : nothing();
  };

export const enterLobby =
  (user: Seated, at: number, reason: WaitingReason, invited: boolean) =>
  (c: RoomContext): Step => ({
    context: { lobby: { ...c.lobby, [user.userId]: { ...pick(user), since: at, invited } }, presence: graceFor(c, user.userId, at) },
    persist: [],
    notices: [
      { type: 'lobby:waiting', userId: user.userId, reason },
      { type: 'lobby:entered', moderators: moderatorsOf(c), userId: user.userId, displayName: user.displayName },
    ],
  });

export const dropFromLobby =
  (userId: string, notice: 'lobby:left' | 'lobby:rejected', at: number) =>
  (c: RoomContext): Step => ({
    context: {
      lobby: without(c.lobby, userId),
      presence: withoutGrace(c.presence, userId),
      ...(notice === 'lobby:rejected' ? coolDown(c, [userId], at) : {}),
    },
    persist: [],
    notices: [notice === 'lobby:left' ? { type: notice, moderators: moderatorsOf(c), userId } : { type: notice, userId }],
  });

/** The cooldowns after turning `userIds` away at `at`, without those already over; nothing when cooldowns are off. */
function coolDown(c: RoomContext, userIds: string[], at: number): Partial<RoomContext> {
  if (c.timings.lobbyRejectCooldownMs <= 0) return {};
  const next = Object.fromEntries(Object.entries(c.knockCooldowns).filter(([, until]) => until > at));
  for (const userId of userIds) next[userId] = at + c.timings.lobbyRejectCooldownMs;
  return { knockCooldowns: next };
}

/** Whether `userId` was turned away too recently to knock again. */
export const coolingDown = (c: RoomContext, userId: string, at: number): boolean => (c.knockCooldowns[userId] ?? 0) > at;

/** The users who moderate the room (`moderates`): the host, then the co-hosts in it. */
export const moderatorsOf = (c: RoomContext): string[] => [
  c.hostId,
  ...Object.values(c.participants)
    .filter((p) => p.userId !== c.hostId && moderates(c.hostId, p.userId, p.role))
    .map((p) => p.userId),
];

/** Makes a participant a co-host, or a guest again; nothing if they already are. */
export const setCoHost =
  (userId: string, coHost: boolean) =>
  (c: RoomContext): Step => {
    const participant = c.participants[userId]!;
    const role = coHost ? 'co_host' : 'guest';
    if (participant.role === role) return nothing();
    const updated: Participant = { ...participant, role };
    return {
      context: { participants: { ...c.participants, [userId]: updated } },
      persist: [],
      notices: [{ type: 'participant:updated', participant: updated }],
    };
  };

/** Turns everyone waiting away, in serving order. */
export const rejectWaiting =
  (at: number) =>
  (c: RoomContext): Step => {
    const waiting = lobbyInOrder(c).map((w) => w.userId);
    if (waiting.length === 0) return nothing();
    // One copy for everyone turned away (as in `seat`): their reconnect deadlines go, their sockets stay.
    const presence = { ...c.presence };
    for (const userId of waiting) dropGrace(presence, userId);
    return {
      context: { lobby: {}, presence, ...coolDown(c, waiting, at) },
      persist: [],
      notices: waiting.map((userId) => ({ type: 'lobby:rejected' as const, userId })),
    };
  };

/** Asks participants to mute: one, or everyone in the room but the asker. Changes nothing in the room. */
export const askToMute =
  (by: string, userId: string | null, at: number) =>
  (c: RoomContext): Step => {
    const userIds = userId === null ? Object.keys(c.participants).filter((id) => id !== by) : [userId];
    return { context: {}, persist: [], notices: userIds.length > 0 ? [{ type: 'participant:mute_requested', userIds, by, at }] : [] };
  };

export const unseat =
  (userId: string, reason: LeaveReason, at: number) =>
  (c: RoomContext): Step => {
    const step: Step = {
      context: { participants: without(c.participants, userId), presence: withoutGrace(c.presence, userId), speaking: without(c.speaking, userId) },
      persist: [{ kind: 'attendanceClosed', userId, reason, at }],
      notices: [{ type: 'participant:left', userId, reason }],
    };
    const connections = socketsOf(c, userId);
    if (connections.length > 0) step.notices.push({ type: 'channel:leave', connections });
    if (reason === 'removed') {
      step.context.removed = [...c.removed, userId];
      step.notices.push({ type: 'participant:removed', userId });
    }
    // The floor stays with a silent speaker, but not with one who is gone.
    if (c.activeSpeaker === userId) {
      step.context.activeSpeaker = null;
      step.notices.push({ type: 'speaker:changed', userId: null, at });
    }
    return step;
  };

/** `locked`: the room's admission state, which the settings members are told include. */
export const startRoom =
  (at: number, locked: boolean) =>
  (c: RoomContext): Step => ({
    context: { startedAt: at, ...closingOf({ ...c, startedAt: at }, at) },
    persist: [{ kind: 'roomStarted', at }],
    notices: [{ type: 'room:updated', settings: withLock(c.settings, locked), status: 'active', schedule: c.schedule }],
  });

/** The host starts the room; waiting users come in with them, only the invited ones if the room is locked. */
export const startRoomWith =
  (host: Seated, at: number, locked: boolean) =>
  (c: RoomContext): Step =>
    chain(c, startRoom(at, locked), seat([host], at), admitWaiting(at, locked));

export const endRoom =
  (at: number) =>
  (c: RoomContext): Step => ({
    context: {
      endedAt: at,
      participants: {},
      lobby: {},
      activeSpeaker: null,
      speaking: {},
      presence: {},
      emptyDeadline: null,
      soloDeadline: null,
      unusedDeadline: null,
      closingDeadline: null,
      closingWarning: null,
    },
    persist: [{ kind: 'roomEnded', at }],
    notices: [{ type: 'room:ended', at, userIds: [...Object.keys(c.participants), ...Object.keys(c.lobby)] }],
  });

/**
 * Applies a settings and schedule change (the machine has checked the schedule, schedule.steps.ts);
 * a speaker key set to null is dropped (the server's value applies again). `locked`: the
 * admission state before it (a change of the lock moves that state too, room.machine.ts);
 * members are told, and PostgreSQL keeps, the settings with the lock.
 */
export const configure =
  (patch: SettingsPatch, schedulePatch: SchedulePatch | undefined, locked: boolean, at: number) =>
  (c: RoomContext): Step => {
    const before = withLock(c.settings, locked);
    const settings = withPatch(before, patch);
    const schedule = withSchedule(c.schedule, schedulePatch);
    const changed = (key: keyof RoomSettings) => settings[key] !== before[key];
    const settingsChanged = settingKeys.some(changed);
    const scheduleChanged = !sameSchedule(schedule, c.schedule);
    if (!settingsChanged && !scheduleChanged) return nothing();
    const status = c.startedAt === null ? 'pending' : 'active';
    const notices: RoomNotice[] = [{ type: 'room:updated', settings, status, schedule }];
    if (changed('speaker_threshold_db') || changed('speaker_min_ms'))
      notices.push({ type: 'speaker:tuned', tuning: speakerTuningOf(settings) ?? { thresholdDb: null, minMs: null } });
    const context: Partial<RoomContext> = {
      ...(settingsChanged ? { settings: contextSettings(settings) } : {}),
      ...(scheduleChanged ? rescheduled(c, schedule) : {}),
    };
    // A running meeting's closing follows its new end and setting (a warning already given is given again only if the end moved).
    const closing = closingOf({ ...c, ...context }, at);
    const closingChanged = closing.closingDeadline !== c.closingDeadline;
    return {
      context: { ...context, ...(closingChanged ? closing : {}) },
      persist: [
        ...(settingsChanged ? [{ kind: 'settingsChanged' as const, settings }] : []),
        ...(scheduleChanged ? [{ kind: 'scheduleChanged' as const, schedule }] : []),
      ],
      notices,
    };
  };
