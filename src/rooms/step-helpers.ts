import type {
  ContextSettings,
  DurableChange,
  RoomContext,
  RoomNotice,
  LobbyEntry,
  Presence,
  RoomSettings,
  SettingsPatch,
  SpeakerSettingKey,
  SpeakerTuning,
} from './room.types';

/**
 * The kit the room's pure steps are written with (lobby.steps.ts, presence.steps.ts,
 * speaker.steps.ts). A step computes what one rule does to the room: a context patch, the
 * durable changes and the notices, and nothing else: no I/O, no clock.
 */

export interface Step {
  context: Partial<RoomContext>;
  persist: DurableChange[];
  notices: RoomNotice[];
}

export const nothing = (): Step => ({ context: {}, persist: [], notices: [] });

/** Runs steps one after another, each seeing the context the previous ones produced. */
export function chain(context: RoomContext, ...steps: ((c: RoomContext) => Step)[]): Step {
  const out = nothing();
  let current = context;
  for (const step of steps) {
    const result = step(current);
    current = { ...current, ...result.context };
    Object.assign(out.context, result.context);
    out.persist.push(...result.persist);
    out.notices.push(...result.notices);
  }
  return out;
}

/** The record without `key`: a copy, or the same object when the key is absent (so nothing reads as changed). */
export const without = <V>(record: Record<string, V>, key: string): Record<string, V> => {
  if (!Object.hasOwn(record, key)) return record;
  const { [key]: _gone, ...rest } = record;
  return rest;
};

/** Participants other than the host: what `max_participants` counts. */
const guestCount = (c: RoomContext) => Object.keys(c.participants).filter((id) => id !== c.hostId).length;
export const freeSeats = (c: RoomContext) => Math.max(0, c.settings.max_participants - guestCount(c));
export const socketsOf = (c: RoomContext, userId: string): string[] => c.presence[userId]?.sockets ?? [];

/** The presence record with the user's entry replaced, or without it when they have no socket and no deadline. */
export const withPresence = (presence: Record<string, Presence>, userId: string, sockets: string[], graceUntil: number | null): Record<string, Presence> =>
  sockets.length === 0 && graceUntil === null ? without(presence, userId) : { ...presence, [userId]: { sockets, graceUntil } };

/** The presence record without the user's reconnect deadline (they left the room or the lobby); their sockets stay recorded. */
export const withoutGrace = (presence: Record<string, Presence>, userId: string): Record<string, Presence> => {
  const entry = presence[userId];
  if (entry === undefined || entry.graceUntil === null) return presence;
  const next = { ...presence };
  dropGrace(next, userId);
  return next;
};

/**
 * `withoutGrace` in place, on a presence record the step has copied already: for steps that let
 * many users go at once, which copy the record once rather than once per user.
 */
export const dropGrace = (presence: Record<string, Presence>, userId: string): void => {
  const entry = presence[userId];
  if (entry === undefined || entry.graceUntil === null) return;
  if (entry.sockets.length > 0) presence[userId] = { sockets: entry.sockets, graceUntil: null };
  else delete presence[userId];
};

/**
 * Who may see the room's people (the participants and the active speaker): the host, joined or
 * not, and the participants. Not a waiting user: the lobby gets its own status and nothing more.
 * The one rule for `GET /participants` and the `room:attach` reply.
 */
export const seesParticipants = (c: RoomContext, userId: string): boolean => userId === c.hostId || Object.hasOwn(c.participants, userId);

/** The lobby in the order it is served: first come, first admitted. */
export const lobbyInOrder = (c: RoomContext): LobbyEntry[] => Object.values(c.lobby).sort((a, b) => a.since - b.since || (a.userId < b.userId ? -1 : 1));

/** The earliest deadline of the room (empty, solo or unused room, closing and its warning, reconnect grace), or null. */
export const nextDeadline = (c: RoomContext): number | null => {
  const all: number[] = [];
  for (const { graceUntil } of Object.values(c.presence)) if (graceUntil !== null) all.push(graceUntil);
  if (c.emptyDeadline !== null) all.push(c.emptyDeadline);
  if (c.soloDeadline !== null) all.push(c.soloDeadline);
  if (c.unusedDeadline !== null) all.push(c.unusedDeadline);
  if (c.closingDeadline !== null) all.push(c.closingDeadline);
  if (c.closingWarning !== null) all.push(c.closingWarning);
  return all.length > 0 ? Math.min(...all) : null;
};

/**
 * A member or waiting user with no socket attached gets a deadline to attach by (a REST join
 * counts from joining); one with a socket has none. An existing deadline is kept, so moving
 * from the lobby into the room does not extend it.
 */
export const graceFor = (c: Pick<RoomContext, 'presence' | 'timings'>, userId: string, at: number): Record<string, Presence> => {
  const entry = c.presence[userId];
  const next = graceEntry(entry, at + c.timings.reconnectGraceMs);
  return next === entry ? c.presence : { ...c.presence, [userId]: next };
};

/** `graceFor` for one entry: the entry itself when it already is what the rule wants, else its replacement. */
export const graceEntry = (entry: Presence | undefined, graceUntil: number): Presence => {
  if (entry !== undefined && entry.sockets.length > 0) return entry.graceUntil === null ? entry : { sockets: entry.sockets, graceUntil: null };
  return entry !== undefined && entry.graceUntil !== null ? entry : { sockets: [], graceUntil };
};

/** The room's own speaker tuning, or null when it uses the server's (no speaker key in its settings). */
export const speakerTuningOf = (settings: Pick<RoomSettings, SpeakerSettingKey>): SpeakerTuning | null =>
  settings.speaker_threshold_db === undefined && settings.speaker_min_ms === undefined
    ? null
    : { thresholdDb: settings.speaker_threshold_db ?? null, minMs: settings.speaker_min_ms ?? null };

/** Sockets entering the room's channel. A room with its own speaker tuning sends it along, to the node holding each socket. */
export const joinChannel = (c: RoomContext, connections: string[]): RoomNotice => {
  const tuning = speakerTuningOf(c.settings);
  return tuning ? { type: 'channel:join', connections, tuning } : { type: 'channel:join', connections };
};

/**
 * Settings in the contract's key order, without undefined speaker keys: what a client sees and
 * compares. A room without its own speaker tuning has the three keys it always had.
 */
export function settingsInOrder(settings: RoomSettings): RoomSettings {
  const { lock_room, enable_transcription, max_participants, speaker_threshold_db, speaker_min_ms, end_at_scheduled_end } = settings;
  return {
    lock_room,
    enable_transcription,
    max_participants,
    ...(speaker_threshold_db === undefined ? {} : { speaker_threshold_db }),
    ...(speaker_min_ms === undefined ? {} : { speaker_min_ms }),
    ...(end_at_scheduled_end === true ? { end_at_scheduled_end } : {}),
  };
}

/** Every settings key, in the contract's order. */
export const settingKeys: readonly (keyof RoomSettings)[] = [
  'lock_room',
  'enable_transcription',
  'max_participants',
  'speaker_threshold_db',
  'speaker_min_ms',
  'end_at_scheduled_end',
];

/** Settings with a change applied (at creation, to the defaults): a speaker key set to null is removed. */
/** The settings of a room whose context keeps `settings` and whose admission state is `locked`. */
export const withLock = (settings: ContextSettings, locked: boolean): RoomSettings => settingsInOrder({ ...settings, lock_room: locked });

export const withPatch = (settings: RoomSettings, patch: SettingsPatch): RoomSettings =>
  settingsInOrder({
    ...settings,
    ...patch,
    speaker_threshold_db: patch.speaker_threshold_db === null ? undefined : (patch.speaker_threshold_db ?? settings.speaker_threshold_db),
    speaker_min_ms: patch.speaker_min_ms === null ? undefined : (patch.speaker_min_ms ?? settings.speaker_min_ms),
  });
