import { isDeepStrictEqual } from 'node:util';
import type { LiveLobbyEntry, LiveParticipant, LiveRoomState, LiveStateChange, MapChange } from '../live-state/live-state';
import { contextSettings, unusedDeadlineOf, type Participant, type Presence, type RoomContext, type LobbyEntry, type RoomTimings } from './room.types';
import type { StoredRoom } from './room-repository';
import { closingOf } from './schedule.steps';

/**
 * The room's context and its two stores: the live state (Redis or in-process) is a projection
 * of the context, written as a diff after each accepted command; on activation the context is
 * rebuilt from PostgreSQL (who is admitted, bans, settings) and the live state (details, lobby,
 * speaker, attached sockets, deadlines). PostgreSQL wins where they disagree: it is written first.
 */

const emptyRoomDeadline = 'empty_room';
const soloRoomDeadline = 'solo_room';
const unusedRoomDeadline = 'unused_room';
const closingDeadlineName = 'scheduled_end';
const closingWarningName = 'end_warning';
const gracePrefix = 'grace:';

const toLiveParticipant = (m: Participant): LiveParticipant => ({
  status: m.status,
  language: m.language,
  hardware_ready: m.hardwareReady,
  display_name: m.displayName,
  role: m.role,
  joined_at: new Date(m.joinedAt).toISOString(),
  media: m.media,
});

const toLiveLobbyEntry = (w: LobbyEntry): LiveLobbyEntry => ({
  display_name: w.displayName,
  language: w.language,
  hardware_ready: w.hardwareReady,
  since: new Date(w.since).toISOString(),
  ...(w.invited ? { invited: true } : {}),
});

const mapChange = <V>(set: Record<string, V>, deleted: string[]): MapChange<V> | undefined =>
  deleted.length === 0 && Object.keys(set).length === 0 ? undefined : { set, delete: deleted };

function diffMap<T, V>(before: Record<string, T>, after: Record<string, T>, project: (value: T) => V): MapChange<V> | undefined {
  const set: Record<string, V> = {};
  const deleted: string[] = [];
  // Walked with for-in: Object.entries made an array per entry, 2.5 times the cost in a room of 105.
  for (const key in before) if (!Object.hasOwn(after, key)) deleted.push(key);
  // The machine replaces an entry whenever it changes it, so identity tells what changed.
  for (const key in after) if (before[key] !== after[key]) set[key] = project(after[key]!);
  return mapChange(set, deleted);
}

/**
 * What changed in the users' presence, as the live state keeps it: their sockets
 * (`connections`) and their reconnect deadlines (`grace:{user_id}`). Only the entries the
 * machine replaced are looked at.
 */
function presenceChange(before: Record<string, Presence>, after: Record<string, Presence>): { connections?: MapChange<string[]>; graces?: MapChange<number> } {
  const sockets: Record<string, string[]> = {};
  const socketsGone: string[] = [];
  const graces: Record<string, number> = {};
  const gracesGone: string[] = [];
  const compare = (userId: string, was: Presence | undefined, now: Presence | undefined) => {
    const [wasSockets, nowSockets] = [was?.sockets ?? [], now?.sockets ?? []];
    if (nowSockets.length > 0 && nowSockets !== wasSockets) sockets[userId] = nowSockets;
    if (nowSockets.length === 0 && wasSockets.length > 0) socketsGone.push(userId);
    const [wasGrace, nowGrace] = [was?.graceUntil ?? null, now?.graceUntil ?? null];
    if (nowGrace !== null && nowGrace !== wasGrace) graces[`${gracePrefix}${userId}`] = nowGrace;
    if (nowGrace === null && wasGrace !== null) gracesGone.push(`${gracePrefix}${userId}`);
  };
  for (const userId in after) if (before[userId] !== after[userId]) compare(userId, before[userId], after[userId]);
  for (const userId in before) if (!Object.hasOwn(after, userId)) compare(userId, before[userId], undefined);
  return { connections: mapChange(sockets, socketsGone), graces: mapChange(graces, gracesGone) };
}

/** Two changes of one map as one. */
const bothChanges = <V>(a: MapChange<V> | undefined, b: MapChange<V> | undefined): MapChange<V> | undefined =>
  a && b ? { set: { ...a.set, ...b.set }, delete: [...(a.delete ?? []), ...(b.delete ?? [])] } : (a ?? b);

/** What to write to the live state after `prev` became `next`, or null when nothing changed. */
export function liveChange(prev: RoomContext, next: RoomContext): LiveStateChange | null {
  const presence = presenceChange(prev.presence, next.presence);
  return changeOf(
    {
      participants: diffMap(prev.participants, next.participants, toLiveParticipant),
      lobby: diffMap(prev.lobby, next.lobby, toLiveLobbyEntry),
      connections: presence.connections,
      deadlines: bothChanges(
        diffMap(roomDeadlines(prev), roomDeadlines(next), (at) => at),
        presence.graces,
      ),
      knockCooldowns: diffMap(prev.knockCooldowns, next.knockCooldowns, (until) => until),
    },
    prev.activeSpeaker,
    next.activeSpeaker,
  );
}

/** A change from the parts that changed (undefined: unchanged) and the speaker before and after; null when nothing did. */
function changeOf(parts: Omit<LiveStateChange, 'activeSpeaker'>, speakerBefore: string | null, speakerAfter: string | null): LiveStateChange | null {
  const change: LiveStateChange = Object.fromEntries(Object.entries(parts).filter(([, part]) => part !== undefined));
  if (speakerBefore !== speakerAfter) change.activeSpeaker = speakerAfter;
  return Object.keys(change).length > 0 ? change : null;
}

/** The whole live state of a room, as a store holds it after every change of `c` was applied. */
export function liveStateOf(c: RoomContext): LiveRoomState {
  return {
    participants: Object.fromEntries(Object.entries(c.participants).map(([id, p]) => [id, toLiveParticipant(p)])),
    lobby: Object.fromEntries(Object.entries(c.lobby).map(([id, w]) => [id, toLiveLobbyEntry(w)])),
    activeSpeaker: c.activeSpeaker,
    deadlines: namedDeadlines(c),
    connections: Object.fromEntries(Object.entries(c.presence).flatMap(([userId, { sockets }]) => (sockets.length > 0 ? [[userId, sockets]] : []))),
    knockCooldowns: c.knockCooldowns,
  };
}

/** What to write to an empty live state so that it holds the room's whole live state. */
export function fullLiveChange(c: RoomContext): LiveStateChange | null {
  const bare: RoomContext = {
    ...c,
    participants: {},
    lobby: {},
    activeSpeaker: null,
    presence: {},
    emptyDeadline: null,
    soloDeadline: null,
    unusedDeadline: null,
    closingDeadline: null,
    closingWarning: null,
    knockCooldowns: {},
  };
  return liveChange(bare, c);
}

/**
 * What to write to a store holding `live` so that it holds `want` instead, or null when it
 * already does: after a live-state write failed behind PostgreSQL, the next activation puts
 * right what the stores disagree on (PostgreSQL deciding who is in).
 */
export function liveStateDrift(live: LiveRoomState, want: LiveRoomState): LiveStateChange | null {
  const diff = <V>(have: Record<string, V>, should: Record<string, V>): MapChange<V> | undefined => {
    const set = Object.fromEntries(Object.entries(should).filter(([key, value]) => !Object.hasOwn(have, key) || !isDeepStrictEqual(have[key], value)));
    const deleted = Object.keys(have).filter((key) => !Object.hasOwn(should, key));
    return deleted.length === 0 && Object.keys(set).length === 0 ? undefined : { set, delete: deleted };
  };
  return changeOf(
    {
      participants: diff(live.participants, want.participants),
      lobby: diff(live.lobby, want.lobby),
      connections: diff(live.connections, want.connections),
      deadlines: diff(live.deadlines, want.deadlines),
      knockCooldowns: diff(live.knockCooldowns, want.knockCooldowns),
    },
    live.activeSpeaker,
    want.activeSpeaker,
  );
}

/** Whether a store holds nothing for a room: never started, ended, expired, or lost with Redis. */
export const isEmptyLiveState = (live: LiveRoomState): boolean =>
  live.activeSpeaker === null &&
  [live.participants, live.lobby, live.deadlines, live.connections, live.knockCooldowns].every((map) => Object.keys(map).length === 0);

/** The room's deadlines under their stored names: its own (`roomDeadlines`) and `grace:{user_id}`. */
export function namedDeadlines(c: RoomContext): Record<string, number> {
  const named = roomDeadlines(c);
  for (const [userId, { graceUntil }] of Object.entries(c.presence)) if (graceUntil !== null) named[`${gracePrefix}${userId}`] = graceUntil;
  return named;
}

/** The room's own deadlines under their stored names: `empty_room`, `solo_room`, `unused_room`, `scheduled_end`, `end_warning`. */
function roomDeadlines(c: RoomContext): Record<string, number> {
  const named: Record<string, number> = {};
  if (c.emptyDeadline !== null) named[emptyRoomDeadline] = c.emptyDeadline;
  if (c.soloDeadline !== null) named[soloRoomDeadline] = c.soloDeadline;
  if (c.unusedDeadline !== null) named[unusedRoomDeadline] = c.unusedDeadline;
  if (c.closingDeadline !== null) named[closingDeadlineName] = c.closingDeadline;
  if (c.closingWarning !== null) named[closingWarningName] = c.closingWarning;
  return named;
}

/**
 * A running meeting's closing (schedule.steps.ts), as PostgreSQL's schedule and settings say; a
 * warning the live state shows given (its end is there, its warning not) is not given again.
 */
function closingFromStores(stored: StoredRoom, live: LiveRoomState, timings: RoomTimings, now: number) {
  const closing = closingOf({ ...stored, settings: contextSettings(stored.settings), timings }, now);
  if (closing.closingDeadline === null || live.deadlines[closingDeadlineName] !== closing.closingDeadline) return closing;
  return { ...closing, closingWarning: live.deadlines[closingWarningName] ?? null };
}

/** Rebuilds a room's context from what PostgreSQL and the live state hold. */
export function contextFromStores(stored: StoredRoom, live: LiveRoomState, timings: RoomTimings, now: number): RoomContext {
  const connections = stored.status === 'ended' ? {} : live.connections;
  const participants: Record<string, Participant> = {};
  if (stored.status !== 'ended') {
    for (const row of stored.attendance) {
      const details = live.participants[row.userId];
      participants[row.userId] = {
        userId: row.userId,
        displayName: row.displayName,
        // Co-hosts are made while in the room, and kept with the live details.
        role: row.role === 'guest' && details?.role === 'co_host' ? 'co_host' : row.role,
        // Without live state (e.g. a single node restarted) nobody is known to be connected.
        status: connections[row.userId]?.length ? 'connected' : 'disconnected',
        language: details?.language ?? null,
        hardwareReady: details?.hardware_ready ?? false,
        joinedAt: row.joinedAt,
        media: details?.media ?? null,
      };
    }
  }
  const lobby: Record<string, LobbyEntry> = {};
  if (stored.status !== 'ended') {
    for (const [userId, entry] of Object.entries(live.lobby)) {
      if (participants[userId] || stored.removed.includes(userId)) continue;
      lobby[userId] = {
        userId,
        displayName: entry.display_name,
        language: entry.language,
        hardwareReady: entry.hardware_ready,
        since: Date.parse(entry.since) || 0,
        invited: entry.invited === true,
      };
    }
  }
  const presence: Record<string, Presence> = {};
  for (const [userId, sockets] of Object.entries(connections)) if (sockets.length > 0) presence[userId] = { sockets, graceUntil: null };
  // Everyone without a socket has a deadline to attach by; one lost with the live state starts now.
  for (const userId of [...Object.keys(participants), ...Object.keys(lobby)]) {
    if (presence[userId]) continue;
    presence[userId] = { sockets: [], graceUntil: live.deadlines[`${gracePrefix}${userId}`] ?? now + timings.reconnectGraceMs };
  }
  const empty = Object.keys(participants).length === 0;
  const storedDeadline = live.deadlines[emptyRoomDeadline];
  return {
    roomId: stored.id,
    roomCode: stored.roomCode,
    name: stored.name,
    hostId: stored.hostId,
    createdAt: stored.createdAt,
    startedAt: stored.startedAt,
    endedAt: stored.endedAt,
    schedule: stored.schedule,
    settings: contextSettings(stored.settings),
    participants,
    lobby,
    removed: stored.removed,
    activeSpeaker: live.activeSpeaker && participants[live.activeSpeaker] ? live.activeSpeaker : null,
    speaking: {},
    presence,
    // An empty active room always has a deadline; one lost with the live state starts again now.
    emptyDeadline: stored.status === 'active' && empty ? (storedDeadline ?? now + timings.emptyRoomTimeoutMs) : null,
    soloDeadline:
      stored.status === 'active' && timings.soloRoomTimeoutMs > 0 && Object.keys(participants).length === 1
        ? (live.deadlines[soloRoomDeadline] ?? now + timings.soloRoomTimeoutMs)
        : null,
    // A pending room's follows from its creation and schedule, as PostgreSQL has them.
    unusedDeadline: stored.status === 'pending' ? unusedDeadlineOf(stored, timings) : null,
    ...closingFromStores(stored, live, timings, now),
    // Cooldowns already over are not worth keeping.
    knockCooldowns: Object.fromEntries(Object.entries(live.knockCooldowns).filter(([, until]) => until > now)),
    timings,
    refusal: null,
  };
}
