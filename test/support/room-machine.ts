import { transition } from 'xstate';
import { createRoomSnapshot, step, statusOf, type RoomSnapshot, type StepResult } from '../../src/rooms/machine-runner';
import { roomMachine } from '../../src/rooms/room.machine';
import type { RoomContext, RoomEvent, RoomSettings, SettingsPatch } from '../../src/rooms/room.types';
import type { SchedulePatch } from '../../src/rooms/schedule';

/**
 * A room machine under test: the current snapshot plus a simulated clock. Commands go through
 * the step runner (machine-runner.ts, the runtime's fast path) and, for comparison, through
 * xstate's public `transition()`: every command of every machine test checks that both give the
 * same next state, context and effects (the runner reuses a scope whose shape is xstate's own).
 * Nothing is executed.
 */

export const host = 'host-1';
export const timeoutMs = 300_000;
export const graceMs = 30_000;

/** A new pending room hosted by `host`, at t = 1000 ms. */
/**
 * A room on a simulated clock; `soloMs` is SOLO_ROOM_TIMEOUT_S, `cooldownMs`
 * LOBBY_REJECT_COOLDOWN_S and `unusedMs` UNUSED_ROOM_TIMEOUT_S, in ms (0: off).
 */
export function room(settings: Partial<RoomSettings> = {}, { soloMs = 0, cooldownMs = 0, unusedMs = 0, warningMs = 300_000 } = {}) {
  let snapshot: RoomSnapshot = createRoomSnapshot({
    roomId: 'room-id',
    roomCode: 'abcdefghijkl',
    name: 'Standup',
    hostId: host,
    createdAt: 0,
    schedule: { startAt: null, endAt: null },
    settings: { lock_room: false, enable_transcription: false, max_participants: 100, ...settings },
    timings: {
      emptyRoomTimeoutMs: timeoutMs,
      soloRoomTimeoutMs: soloMs,
      unusedRoomTimeoutMs: unusedMs,
      reconnectGraceMs: graceMs,
      lobbyRejectCooldownMs: cooldownMs,
      scheduledEndWarningMs: warningMs,
    },
  });
  let now = 1_000;
  const self = {
    get snapshot() {
      return snapshot;
    },
    get ctx() {
      return snapshot.context;
    },
    get status() {
      return statusOf(snapshot);
    },
    advance(ms: number) {
      now += ms;
    },
    /** Sends a command; adopts the next snapshot unless it was refused (as the runtime does). */
    send(event: DistributiveOmit<RoomEvent, 'at'>): StepResult {
      const command = { ...event, at: now } as RoomEvent;
      const result = step(snapshot, command);
      expect(viaPublicTransition(snapshot, command)).toEqual(asSeen(result));
      if (!result.refused) snapshot = result.snapshot;
      return result;
    },
    attach: (userId: string, connectionId = `${userId}-socket`) => self.send({ type: 'attach', userId, connectionId }),
    detach: (userId: string, connectionId = `${userId}-socket`) => self.send({ type: 'detach', userId, connectionId }),
    speak: (userId: string, level = -20) => self.send({ type: 'speakingStarted', userId, level }),
    stop: (userId: string) => self.send({ type: 'speakingStopped', userId }),
    join: (userId: string, displayName = userId) => self.send({ type: 'join', userId, displayName, language: null, hardwareReady: false }),
    /** Joins with a valid invitation to the room (checked before the room sees the command). */
    joinInvited: (userId: string) => self.send({ type: 'join', userId, displayName: userId, language: null, hardwareReady: false, invited: true }),
    admit: (userId: string, by = host) => self.send({ type: 'admit', by, userId }),
    leave: (userId: string) => self.send({ type: 'leave', userId, reason: 'left' }),
    configure: (patch: SettingsPatch, by = host) => self.send({ type: 'configure', by, settings: patch }),
    reschedule: (schedule: SchedulePatch, by = host) => self.send({ type: 'configure', by, settings: {}, schedule }),
    members: () => Object.keys(snapshot.context.participants).sort(),
    waiting: () => Object.keys(snapshot.context.lobby).sort(),
  };
  return self;
}
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** No schedule: what every room has unless its host plans it. */
export const unscheduled = { startAt: null, endAt: null };

export const refusalOf = (result: StepResult) => result.refused?.code;
/** Each user's reconnect deadline, from the room's presence record. */
export const gracesOf = (c: RoomContext): Record<string, number> =>
  Object.fromEntries(Object.entries(c.presence).flatMap(([userId, { graceUntil }]) => (graceUntil === null ? [] : [[userId, graceUntil]])));
/** The notices that announce a participant, matched on who it is. */
export const joinedNotice = (userId: string) => ({ type: 'participant:joined', participant: expect.objectContaining({ userId }) });
export const leftNotice = (userId: string, reason: string) => ({ type: 'participant:left', userId, reason });
export const accepted = (result: StepResult) => {
  if (result.refused) throw new Error(`refused: ${result.refused.code}`);
  return result;
};

/** What a step comes to, in the terms both runners share. */
function asSeen(result: StepResult) {
  if (result.refused) return { refused: result.refused };
  return { refused: null, value: result.snapshot.value, context: result.snapshot.context, changes: result.changes, notices: result.notices };
}

/** The same step through xstate's public `transition(machine, snapshot, event)`. */
function viaPublicTransition(snapshot: RoomSnapshot, command: RoomEvent) {
  const [next, actions] = transition(roomMachine, snapshot, command);
  if (next.context.refusal) return { refused: next.context.refusal };
  // xstate types the actions loosely, as the runner notes: `persist` carries a change, `xstate.emit` a notice.
  const loose = actions as { type: string; params: unknown }[];
  const changes = loose.filter((action) => action.type === 'persist').map((action) => action.params);
  const notices = loose.filter((action) => action.type === 'xstate.emit').map((action) => (action.params as { event: unknown }).event);
  return { refused: null, value: next.value, context: next.context, changes, notices };
}
