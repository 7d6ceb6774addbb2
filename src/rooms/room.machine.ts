import { and, not, or, setup } from 'xstate';

/**
 * The room: every rule of DESIGN.md §6 and §8 as one XState machine, and nothing else. It is
 * pure: it never does I/O. The room directory (local-room-directory.ts) feeds it one command at a
 * time through xstate's `transition()`, which returns the next snapshot and the effects without
 * running them:
 *
 * - `persist` actions name the durable changes (PostgreSQL) a command makes;
 * - emitted events (`RoomNotice`) are what the room tells its members; each carries what the
 *   realtime layer needs to deliver it (src/realtime/room-publisher.ts);
 * - a refused command sets `context.refusal` and the runtime throws that snapshot away, so a
 *   refused command changes nothing;
 * - the live state (Redis) is a projection of the context, written by the runtime.
 *
 * Time comes in on every event (`at`, the server's clock), so the machine never reads a clock.
 */

export interface RoomSettings {
  lock_room: boolean;
  enable_transcription: boolean;
  max_participants: number;
}

export type Role = 'host' | 'guest';
export type LeaveReason = 'left' | 'removed' | 'disconnected';

/** An admitted participant. */
export interface Member {
  userId: string;
  displayName: string;
  role: Role;
  /** `connected` while at least one of the user's sockets is attached to the room. */
  status: 'connected' | 'disconnected';
  language: string | null;
  hardwareReady: boolean;
  joinedAt: number;
}

/** A user waiting in the lobby. */
export interface Waiting {
  userId: string;
  displayName: string;
  language: string | null;
  hardwareReady: boolean;
  since: number;
}

/** Codes a command can be refused with (a subset of the error catalog, src/contract/errors.ts). */
export type RefusalCode = 'NOT_HOST' | 'NOT_A_PARTICIPANT' | 'REMOVED_FROM_ROOM' | 'ROOM_NOT_FOUND' | 'ROOM_FULL' | 'NOT_IN_LOBBY' | 'VALIDATION_FAILED';
export interface Refusal {
  code: RefusalCode;
  detail: string;
}

export interface RoomContext {
  roomId: string;
  roomCode: string;
  name: string;
  hostId: string;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  settings: RoomSettings;
  participants: Record<string, Member>;
  lobby: Record<string, Waiting>;
  /** Users removed by the host: they may not join again. */
  removed: string[];
  activeSpeaker: string | null;
  /** Members speaking right now, with the level (dBFS) they started at. Not stored: it lives seconds. */
  speaking: Record<string, number>;
  /** The sockets each user has attached to the room (ids from the realtime layer), member or not. */
  connections: Record<string, string[]>;
  /** When each member or waiting user with no socket attached leaves (epoch ms). */
  graceDeadlines: Record<string, number>;
  /** When an active room with nobody in it ends by itself (epoch ms), or null. */
  emptyDeadline: number | null;
  emptyRoomTimeoutMs: number;
  reconnectGraceMs: number;
  /** Set only on a refused command's snapshot, which is never adopted. */
  refusal: Refusal | null;
}

export type RoomInput = Pick<RoomContext, 'roomId' | 'roomCode' | 'name' | 'hostId' | 'createdAt' | 'settings' | 'emptyRoomTimeoutMs' | 'reconnectGraceMs'>;

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
  settings: input.settings,
  emptyRoomTimeoutMs: input.emptyRoomTimeoutMs,
  reconnectGraceMs: input.reconnectGraceMs,
  startedAt: null,
  endedAt: null,
  participants: {},
  lobby: {},
  removed: [],
  activeSpeaker: null,
  speaking: {},
  connections: {},
  graceDeadlines: {},
  emptyDeadline: null,
  refusal: null,
});

/** Commands. `at` is the server's clock; `by` is the acting user. */
export type RoomEvent =
  | { type: 'join'; at: number; userId: string; displayName: string; language: string | null; hardwareReady: boolean }
  | { type: 'admit'; at: number; by: string; userId: string }
  | { type: 'admitAll'; at: number; by: string }
  | { type: 'reject'; at: number; by: string; userId: string }
  | { type: 'remove'; at: number; by: string; userId: string }
  | { type: 'leave'; at: number; userId: string; reason: 'left' | 'disconnected' }
  /** A waiting user gives up (`lobby:cancel`); unlike leave, it never takes a participant out. */
  | { type: 'cancelWaiting'; at: number; userId: string }
  /** A socket of the user attaches to the room or goes away (presence). */
  | { type: 'attach'; at: number; userId: string; connectionId: string }
  | { type: 'detach'; at: number; userId: string; connectionId: string }
  | { type: 'setHardware'; at: number; userId: string; hardwareReady: boolean }
  /** From the speaking detector (src/realtime/speaking-detector.ts): only starts and stops arrive here. */
  | { type: 'speakingStarted'; at: number; userId: string; level: number }
  | { type: 'speakingStopped'; at: number; userId: string }
  | { type: 'end'; at: number; by: string }
  | { type: 'configure'; at: number; by: string; settings: Partial<RoomSettings> }
  | { type: 'viewParticipants'; at: number; by: string }
  /** Sent by the deadline scheduler when a stored deadline (empty room, reconnect grace) is due. */
  | { type: 'expire'; at: number };

/** A durable change: the runtime writes these to PostgreSQL in one transaction per command. */
export type DurableChange =
  | { kind: 'roomStarted'; at: number }
  | { kind: 'roomEnded'; at: number }
  | { kind: 'settingsChanged'; settings: RoomSettings }
  | { kind: 'attendanceOpened'; userId: string; role: Role; at: number }
  | { kind: 'attendanceClosed'; userId: string; reason: LeaveReason; at: number };

/**
 * What the room tells its members; the realtime layer turns each into a DESIGN.md §7 event.
 * `channel:join`/`channel:leave` name the sockets (connections) that start or stop receiving the
 * room's events: a participant's attached sockets, and only those. Published in order with the
 * rest, so a socket never misses or overhears an event around a change of membership.
 */
export type RoomNotice =
  | { type: 'channel:join'; connections: string[] }
  | { type: 'channel:leave'; connections: string[] }
  | { type: 'lobby:waiting'; userId: string; reason: 'locked' | 'host_not_started' }
  | { type: 'lobby:entered'; hostId: string; userId: string; displayName: string }
  | { type: 'lobby:left'; hostId: string; userId: string }
  | { type: 'lobby:admitted'; userId: string }
  | { type: 'lobby:rejected'; userId: string }
  | { type: 'participant:joined'; participant: Member }
  | { type: 'participant:updated'; participant: Member }
  | { type: 'participant:left'; userId: string; reason: LeaveReason }
  | { type: 'participant:removed'; userId: string }
  | { type: 'speaker:changed'; userId: string | null; at: number }
  | { type: 'room:updated'; settings: RoomSettings; status: 'pending' | 'active' }
  /** `userIds`: everyone in the room or its lobby, told on their own channels too. */
  | { type: 'room:ended'; at: number; userIds: string[] };

// ---------------------------------------------------------------------------------------------
// Pure helpers: each computes one step (a context patch, durable changes and notices).

interface Step {
  context: Partial<RoomContext>;
  persist: DurableChange[];
  notices: RoomNotice[];
}

const nothing = (): Step => ({ context: {}, persist: [], notices: [] });

/** Runs steps one after another, each seeing the context the previous ones produced. */
function chain(context: RoomContext, ...steps: ((c: RoomContext) => Step)[]): Step {
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
const without = <V>(record: Record<string, V>, key: string): Record<string, V> => {
  if (!Object.hasOwn(record, key)) return record;
  const { [key]: _gone, ...rest } = record;
  return rest;
};

/** Participants other than the host: what `max_participants` counts. */
const guestCount = (c: RoomContext) => Object.keys(c.participants).filter((id) => id !== c.hostId).length;
const freeSeats = (c: RoomContext) => Math.max(0, c.settings.max_participants - guestCount(c));
const socketsOf = (c: RoomContext, userId: string) => c.connections[userId] ?? [];
/** The lobby in the order it is served: first come, first admitted. */
export const lobbyInOrder = (c: RoomContext): Waiting[] =>
  Object.values(c.lobby).sort((a, b) => a.since - b.since || (a.userId < b.userId ? -1 : 1));

/** The earliest deadline of the room (empty room, reconnect grace), or null. */
export const nextDeadline = (c: RoomContext): number | null => {
  const all = Object.values(c.graceDeadlines);
  if (c.emptyDeadline !== null) all.push(c.emptyDeadline);
  return all.length > 0 ? Math.min(...all) : null;
};

/**
 * A member or waiting user with no socket attached gets a deadline to attach by (a REST join
 * counts from joining); one with a socket has none. An existing deadline is kept, so moving
 * from the lobby into the room does not extend it.
 */
const graceFor = (c: RoomContext, userId: string, at: number): Record<string, number> =>
  socketsOf(c, userId).length > 0
    ? without(c.graceDeadlines, userId)
    : { ...c.graceDeadlines, [userId]: c.graceDeadlines[userId] ?? at + c.reconnectGraceMs };

type Seated = Pick<Waiting, 'userId' | 'displayName' | 'language' | 'hardwareReady'>;
const pick = ({ userId, displayName, language, hardwareReady }: Seated): Seated => ({ userId, displayName, language, hardwareReady });

/** Makes users participants (from the lobby or straight in). */
const seat = (users: Seated[], at: number) => (c: RoomContext): Step => {
  let next = { participants: { ...c.participants }, lobby: { ...c.lobby }, graceDeadlines: c.graceDeadlines };
  const step = nothing();
  for (const user of users) {
    const role: Role = user.userId === c.hostId ? 'host' : 'guest';
    const connections = socketsOf(c, user.userId);
    const member: Member = { ...pick(user), role, status: connections.length > 0 ? 'connected' : 'disconnected', joinedAt: at };
    next.participants[user.userId] = member;
    next.graceDeadlines = graceFor({ ...c, graceDeadlines: next.graceDeadlines }, user.userId, at);
    step.persist.push({ kind: 'attendanceOpened', userId: user.userId, role, at });
    if (next.lobby[user.userId]) {
      next = { ...next, lobby: without(next.lobby, user.userId) };
      step.notices.push({ type: 'lobby:admitted', userId: user.userId });
    }
    // The newcomer's sockets enter the channel first, so they hear their own arrival too.
    if (connections.length > 0) step.notices.push({ type: 'channel:join', connections });
    step.notices.push({ type: 'participant:joined', participant: member });
  }
  step.context = next;
  return step;
};

/** Admits waiting users in lobby order while seats are free. */
const admitWaiting = (at: number) => (c: RoomContext): Step => seat(lobbyInOrder(c).slice(0, freeSeats(c)), at)(c);

const enterLobby = (user: Seated, at: number, reason: 'locked' | 'host_not_started') => (c: RoomContext): Step => ({
  context: { lobby: { ...c.lobby, [user.userId]: { ...pick(user), since: at } }, graceDeadlines: graceFor(c, user.userId, at) },
  persist: [],
  notices: [
    { type: 'lobby:waiting', userId: user.userId, reason },
    { type: 'lobby:entered', hostId: c.hostId, userId: user.userId, displayName: user.displayName },
  ],
});

const dropFromLobby = (userId: string, notice: 'lobby:left' | 'lobby:rejected') => (c: RoomContext): Step => ({
  context: { lobby: without(c.lobby, userId), graceDeadlines: without(c.graceDeadlines, userId) },
  persist: [],
  notices: [notice === 'lobby:left' ? { type: notice, hostId: c.hostId, userId } : { type: notice, userId }],
});

const unseat = (userId: string, reason: LeaveReason, at: number) => (c: RoomContext): Step => {
  const step: Step = {
    context: { participants: without(c.participants, userId), graceDeadlines: without(c.graceDeadlines, userId), speaking: without(c.speaking, userId) },
    persist: [{ kind: 'attendanceClosed', userId, reason, at }],
    notices: [{ type: 'participant:left', userId, reason }],
  };
  const connections = socketsOf(c, userId);
  if (connections.length > 0) step.notices.push({ type: 'channel:leave', connections });
  if (reason === 'removed') {
    step.context.removed = [...c.removed, userId];
    step.notices.push({ type: 'participant:removed', userId });
  }
  // The speaker region notices and announces the change (see `speakerGone`).
  if (c.activeSpeaker === userId) step.context.activeSpeaker = null;
  return step;
};

/** Replaces a member with a changed copy and tells the room. */
const updateMember = (userId: string, patch: Partial<Member>) => (c: RoomContext): Step => {
  const current = c.participants[userId];
  if (!current || (Object.keys(patch) as (keyof Member)[]).every((key) => current[key] === patch[key])) return nothing();
  const participant = { ...current, ...patch };
  return { context: { participants: { ...c.participants, [userId]: participant } }, persist: [], notices: [{ type: 'participant:updated', participant }] };
};

/** A socket of the user attached: they are connected and have no deadline; a participant's socket joins the channel. */
const connect = (userId: string, connectionId: string) => (c: RoomContext): Step => {
  const sockets = socketsOf(c, userId);
  if (sockets.includes(connectionId)) return nothing();
  const connections = { ...c.connections, [userId]: [...sockets, connectionId] };
  const next = { ...c, connections, graceDeadlines: without(c.graceDeadlines, userId) };
  const step = updateMember(userId, { status: 'connected' })(next);
  const notices: RoomNotice[] = c.participants[userId] ? [{ type: 'channel:join', connections: [connectionId] }, ...step.notices] : step.notices;
  return { context: { connections, graceDeadlines: next.graceDeadlines, ...step.context }, persist: [], notices };
};

/** A socket went away; the user's last one starts the reconnect grace. */
const disconnect = (userId: string, connectionId: string, at: number) => (c: RoomContext): Step => {
  const sockets = socketsOf(c, userId);
  if (!sockets.includes(connectionId)) return nothing();
  const rest = sockets.filter((id) => id !== connectionId);
  const connections = rest.length > 0 ? { ...c.connections, [userId]: rest } : without(c.connections, userId);
  const leave: RoomNotice[] = c.participants[userId] ? [{ type: 'channel:leave', connections: [connectionId] }] : [];
  if (rest.length > 0 || !(c.participants[userId] || c.lobby[userId])) return { context: { connections }, persist: [], notices: leave };
  const next = { ...c, connections, graceDeadlines: graceFor({ ...c, connections }, userId, at) };
  const step = updateMember(userId, { status: 'disconnected' })(next);
  return { context: { connections, graceDeadlines: next.graceDeadlines, ...step.context }, persist: [], notices: [...leave, ...step.notices] };
};

/** Members and waiting users whose grace has run out leave (`disconnected`; the lobby's just go). */
const expireGrace = (at: number) => (c: RoomContext): Step => {
  const due = Object.entries(c.graceDeadlines).filter(([, deadline]) => deadline <= at).map(([userId]) => userId);
  return chain(
    c,
    ...due.map((userId) => (current: RoomContext): Step => {
      if (current.participants[userId]) return unseat(userId, 'disconnected', at)(current);
      if (current.lobby[userId]) return dropFromLobby(userId, 'lobby:left')(current);
      return { context: { graceDeadlines: without(current.graceDeadlines, userId) }, persist: [], notices: [] };
    }),
  );
};

const setHardware = (userId: string, hardwareReady: boolean) => (c: RoomContext): Step => {
  const waiting = c.lobby[userId];
  if (!waiting) return updateMember(userId, { hardwareReady })(c);
  if (waiting.hardwareReady === hardwareReady) return nothing();
  return { context: { lobby: { ...c.lobby, [userId]: { ...waiting, hardwareReady } } }, persist: [], notices: [] };
};

const announceSpeaker = (userId: string | null, at: number): Step => ({
  context: { activeSpeaker: userId },
  persist: [],
  notices: [{ type: 'speaker:changed', userId, at }],
});

/** DESIGN.md §8: the floor goes to who starts speaking, unless the speaker still speaks and is louder. */
const startSpeaking = (userId: string, level: number, at: number) => (c: RoomContext): Step => {
  const speaking = { ...c.speaking, [userId]: level };
  const current = c.activeSpeaker;
  const keepsFloor = current === userId || (current !== null && (c.speaking[current] ?? -Infinity) > level);
  if (keepsFloor) return { context: { speaking }, persist: [], notices: [] };
  const step = announceSpeaker(userId, at);
  return { ...step, context: { ...step.context, speaking } };
};

/**
 * The speaker stays active through silence; but when they stop while others still speak (who
 * started while the speaker was louder), the loudest of those takes the floor.
 */
const stopSpeaking = (userId: string, at: number) => (c: RoomContext): Step => {
  if (!Object.hasOwn(c.speaking, userId)) return nothing();
  const speaking = without(c.speaking, userId);
  const [next] = Object.entries(speaking).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  if (c.activeSpeaker !== userId || !next) return { context: { speaking }, persist: [], notices: [] };
  const step = announceSpeaker(next[0], at);
  return { ...step, context: { ...step.context, speaking } };
};

const startRoom = (at: number) => (c: RoomContext): Step => ({
  context: { startedAt: at },
  persist: [{ kind: 'roomStarted', at }],
  notices: [{ type: 'room:updated', settings: c.settings, status: 'active' }],
});

const endRoom = (at: number) => (c: RoomContext): Step => ({
  context: { endedAt: at, participants: {}, lobby: {}, activeSpeaker: null, speaking: {}, connections: {}, graceDeadlines: {}, emptyDeadline: null },
  persist: [{ kind: 'roomEnded', at }],
  notices: [{ type: 'room:ended', at, userIds: [...Object.keys(c.participants), ...Object.keys(c.lobby)] }],
});

const configure = (patch: Partial<RoomSettings>) => (c: RoomContext): Step => {
  const settings = { ...c.settings, ...patch };
  const changed = (Object.keys(settings) as (keyof RoomSettings)[]).some((key) => settings[key] !== c.settings[key]);
  if (!changed) return nothing();
  const status = c.startedAt === null ? 'pending' : 'active';
  return { context: { settings }, persist: [{ kind: 'settingsChanged', settings }], notices: [{ type: 'room:updated', settings, status }] };
};

type EventOf<T extends RoomEvent['type']> = Extract<RoomEvent, { type: T }>;
function as<T extends RoomEvent['type']>(event: RoomEvent, type: T): EventOf<T> {
  if (event.type !== type) throw new Error(`room machine: expected ${type}, got ${event.type}`);
  return event as EventOf<T>;
}
const targetOf = (event: RoomEvent): string | undefined => ('userId' in event ? event.userId : undefined);
const joiner = (event: RoomEvent): Seated => {
  const e = as(event, 'join');
  return { userId: e.userId, displayName: e.displayName, language: e.language, hardwareReady: e.hardwareReady };
};

// ---------------------------------------------------------------------------------------------

const room = setup({
  types: {} as { context: RoomContext; events: RoomEvent; input: RoomInput; emitted: RoomNotice },
  actions: {
    /** Implemented by the room runtime: written to PostgreSQL before the snapshot is adopted. */
    persist: (_args, _change: DurableChange) => {},
  },
  guards: {
    byHost: ({ context, event }) => 'by' in event && event.by === context.hostId,
    isHost: ({ context, event }) => targetOf(event) === context.hostId,
    isBanned: ({ context, event }) => context.removed.includes(targetOf(event) ?? ''),
    isPresent: ({ context, event }) => Object.hasOwn(context.participants, targetOf(event) ?? ''),
    isWaiting: ({ context, event }) => Object.hasOwn(context.lobby, targetOf(event) ?? ''),
    hasFreeSeat: ({ context }) => freeSeats(context) > 0,
    lobbyNotEmpty: ({ context }) => Object.keys(context.lobby).length > 0,
    roomLocked: ({ context }) => context.settings.lock_room,
    locks: ({ event }) => event.type === 'configure' && event.settings.lock_room === true,
    unlocks: ({ event }) => event.type === 'configure' && event.settings.lock_room === false,
    mayViewParticipants: ({ context, event }) =>
      'by' in event && (event.by === context.hostId || Object.hasOwn(context.participants, event.by)),
    becameEmpty: ({ context }) => context.emptyDeadline === null && Object.keys(context.participants).length === 0,
    refilled: ({ context }) => context.emptyDeadline !== null && Object.keys(context.participants).length > 0,
    emptyDeadlinePassed: ({ context, event }) =>
      context.emptyDeadline !== null && event.at >= context.emptyDeadline && Object.keys(context.participants).length === 0,
    hasSpeaker: ({ context }) => context.activeSpeaker !== null,
    speakerGone: ({ context }) => context.activeSpeaker === null,
  },
});

/** Applies a step computed from the current context and event: patch, then effects, then notices. */
const apply = (compute: (context: RoomContext, event: RoomEvent) => Step) =>
  room.enqueueActions(({ context, event, enqueue }) => {
    const step = compute(context, event);
    // An empty patch would still make a new context object, and the runtime reads that as a change.
    if (Object.keys(step.context).length > 0) enqueue.assign(step.context);
    for (const change of step.persist) enqueue({ type: 'persist', params: change });
    for (const notice of step.notices) enqueue.emit(notice);
  });

const refuse = (code: RefusalCode, detail: string) => room.assign({ refusal: { code, detail } });

const refuseUnlessHost = { guard: not('byHost'), actions: refuse('NOT_HOST', 'Only the host may do this') };
const notLive = refuse('ROOM_NOT_FOUND', 'The room has ended');
const refuseBanned = { guard: 'isBanned' as const, actions: refuse('REMOVED_FROM_ROOM', 'You were removed from this room') };
const idempotent = <G extends 'isPresent' | 'isWaiting'>(guard: G) => ({ guard, actions: [] });

const seatJoiner = apply((c, e) => seat([joiner(e)], e.at)(c));
const reconfigure = apply((c, e) => configure(as(e, 'configure').settings)(c));
const admitTarget = apply((c, e) => {
  const waiting = c.lobby[as(e, 'admit').userId];
  return waiting ? seat([waiting], e.at)(c) : nothing();
});

export const roomMachine = room.createMachine({
  id: 'room',
  context: ({ input }) => initialRoomContext(input),
  initial: 'pending',
  // Handlers shared by `pending` and `active`; `ended` overrides them.
  on: {
    viewParticipants: [{ guard: 'mayViewParticipants' }, { actions: refuse('NOT_A_PARTICIPANT', 'Only participants may see who is in the room') }],
    leave: [
      { guard: 'isPresent', actions: apply((c, e) => unseat(as(e, 'leave').userId, as(e, 'leave').reason, e.at)(c)) },
      { guard: 'isWaiting', actions: apply((c, e) => dropFromLobby(as(e, 'leave').userId, 'lobby:left')(c)) },
      // Leaving a room one is not in is a no-op: leave is idempotent.
    ],
    cancelWaiting: [
      { guard: 'isWaiting', actions: apply((c, e) => dropFromLobby(as(e, 'cancelWaiting').userId, 'lobby:left')(c)) },
      { guard: 'isPresent', actions: refuse('NOT_IN_LOBBY', 'You are in the room, not in its lobby; leave the room instead') },
    ],
    attach: [
      refuseBanned,
      { guard: or(['isPresent', 'isWaiting']), actions: apply((c, e) => connect(as(e, 'attach').userId, as(e, 'attach').connectionId)(c)) },
      { actions: refuse('NOT_A_PARTICIPANT', 'Join the room (POST /join) before attaching to it') },
    ],
    detach: { actions: apply((c, e) => disconnect(as(e, 'detach').userId, as(e, 'detach').connectionId, e.at)(c)) },
    setHardware: [
      { guard: or(['isPresent', 'isWaiting']), actions: apply((c, e) => setHardware(as(e, 'setHardware').userId, as(e, 'setHardware').hardwareReady)(c)) },
      { actions: refuse('NOT_A_PARTICIPANT', 'Only participants and waiting users have hardware status') },
    ],
    expire: { actions: apply((c, e) => expireGrace(e.at)(c)) },
    reject: [
      refuseUnlessHost,
      { guard: 'isWaiting', actions: apply((c, e) => dropFromLobby(as(e, 'reject').userId, 'lobby:rejected')(c)) },
      { actions: refuse('NOT_IN_LOBBY', 'This user is not waiting in the lobby') },
    ],
    remove: [
      refuseUnlessHost,
      { guard: 'isHost', actions: refuse('VALIDATION_FAILED', 'The host cannot remove themselves; leave or end the room instead') },
      { guard: 'isPresent', actions: apply((c, e) => unseat(as(e, 'remove').userId, 'removed', e.at)(c)) },
      { actions: refuse('NOT_A_PARTICIPANT', 'This user is not in the room') },
    ],
    end: [refuseUnlessHost, { target: '.ended', actions: apply((c, e) => endRoom(e.at)(c)) }],
    configure: [refuseUnlessHost, { actions: reconfigure }],
  },
  states: {
    pending: {
      on: {
        join: [
          refuseBanned,
          {
            guard: 'isHost',
            target: 'active',
            // The host starts the room; waiting users come in with them unless the room is locked.
            actions: apply((c, e) =>
              chain(c, startRoom(e.at), seat([joiner(e)], e.at), (next) => (next.settings.lock_room ? nothing() : admitWaiting(e.at)(next))),
            ),
          },
          idempotent('isWaiting'),
          { actions: apply((c, e) => enterLobby(joiner(e), e.at, 'host_not_started')(c)) },
        ],
        // The host letting someone in starts the meeting, as joining would.
        admit: [
          refuseUnlessHost,
          { guard: 'isWaiting', target: 'active', actions: [apply((c, e) => startRoom(e.at)(c)), admitTarget] },
          { actions: refuse('NOT_IN_LOBBY', 'This user is not waiting in the lobby') },
        ],
        admitAll: [
          refuseUnlessHost,
          { guard: 'lobbyNotEmpty', target: 'active', actions: apply((c, e) => chain(c, startRoom(e.at), admitWaiting(e.at))) },
          {},
        ],
      },
    },
    active: {
      type: 'parallel',
      // An empty active room ends by itself once the deadline passes (the scheduler sends `expire`).
      always: [
        { guard: 'becameEmpty', actions: room.assign({ emptyDeadline: ({ context, event }) => event.at + context.emptyRoomTimeoutMs }) },
        { guard: 'refilled', actions: room.assign({ emptyDeadline: null }) },
      ],
      on: {
        admit: [
          refuseUnlessHost,
          idempotent('isPresent'),
          { guard: and(['isWaiting', 'hasFreeSeat']), actions: admitTarget },
          { guard: 'isWaiting', actions: refuse('ROOM_FULL', 'The room has reached its participant limit') },
          { actions: refuse('NOT_IN_LOBBY', 'This user is not waiting in the lobby') },
        ],
        admitAll: [refuseUnlessHost, { actions: apply((c, e) => admitWaiting(e.at)(c)) }],
        expire: [{ guard: 'emptyDeadlinePassed', target: 'ended', actions: apply((c, e) => endRoom(e.at)(c)) }, { actions: apply((c, e) => expireGrace(e.at)(c)) }],
      },
      states: {
        admission: {
          initial: 'deciding',
          states: {
            deciding: { always: [{ guard: 'roomLocked', target: 'locked' }, { target: 'open' }] },
            open: {
              on: {
                join: [
                  refuseBanned,
                  idempotent('isPresent'),
                  // The host always gets in, whatever the cap.
                  { guard: 'isHost', actions: seatJoiner },
                  { guard: 'hasFreeSeat', actions: seatJoiner },
                  idempotent('isWaiting'),
                  { actions: refuse('ROOM_FULL', 'The room has reached its participant limit') },
                ],
                configure: [refuseUnlessHost, { guard: 'locks', target: 'locked', actions: reconfigure }, { actions: reconfigure }],
              },
            },
            locked: {
              on: {
                join: [
                  refuseBanned,
                  idempotent('isPresent'),
                  { guard: 'isHost', actions: seatJoiner },
                  idempotent('isWaiting'),
                  { actions: apply((c, e) => enterLobby(joiner(e), e.at, 'locked')(c)) },
                ],
                configure: [
                  refuseUnlessHost,
                  // Unlocking lets everyone waiting in, as far as seats allow.
                  { guard: 'unlocks', target: 'open', actions: apply((c, e) => chain(c, configure(as(e, 'configure').settings), admitWaiting(e.at))) },
                  { actions: reconfigure },
                ],
              },
            },
          },
        },
        // DESIGN.md §8. Speaking starts and stops come from the detectors on the socket nodes.
        speaker: {
          initial: 'none',
          on: {
            speakingStarted: { guard: 'isPresent', actions: apply((c, e) => startSpeaking(as(e, 'speakingStarted').userId, as(e, 'speakingStarted').level, e.at)(c)) },
            speakingStopped: { actions: apply((c, e) => stopSpeaking(as(e, 'speakingStopped').userId, e.at)(c)) },
          },
          states: {
            none: { always: { guard: 'hasSpeaker', target: 'speaker' } },
            speaker: { always: { guard: 'speakerGone', target: 'none', actions: room.emit(({ event }) => ({ type: 'speaker:changed', userId: null, at: event.at })) } },
          },
        },
      },
    },
    ended: {
      on: {
        join: { actions: notLive },
        admit: { actions: notLive },
        admitAll: { actions: notLive },
        reject: { actions: notLive },
        remove: { actions: notLive },
        configure: { actions: notLive },
        // Ending again answers with the first end: `ended_at` does not move.
        end: [refuseUnlessHost, {}],
        leave: {},
        cancelWaiting: {},
        attach: { actions: notLive },
        setHardware: { actions: notLive },
        detach: {},
        expire: {},
      },
    },
  },
});
