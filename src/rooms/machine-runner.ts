import { createActor, type ExecutableActionObject, type SnapshotFrom } from 'xstate';
import type { RoomStatus } from './room.entity';
import { roomMachine } from './room.machine';
import {
  initialRoomContext,
  type DurableChange,
  type Refusal,
  type RoomContext,
  type RoomEvent,
  type RoomInput,
  type RoomNotice,
  type RoomSettings,
} from './room.types';
import { withLock } from './step-helpers';

/**
 * The room machine as plain functions: one command in, the next snapshot and its effects out.
 * Pure (xstate's `transition()` runs no actions), so the machine is tested without I/O and the
 * runtime decides when effects run and whether the next snapshot is adopted.
 */

export type RoomSnapshot = SnapshotFrom<typeof roomMachine>;
export type { RoomStatus };

export type StepResult = { refused: Refusal } | { refused: null; snapshot: RoomSnapshot; changes: DurableChange[]; notices: RoomNotice[]; changed: boolean };

/**
 * The scope every step runs in. xstate's public `transition(machine, snapshot, event)` builds a
 * throwaway actor for each call, computing the machine's initial snapshot on the way, which costs
 * more than the step itself (measured on a six-member room: about 75 µs a step against about
 * 15 µs here, xstate 5.33); the room machine spawns, invokes and schedules nothing, so one inert
 * scope serves every step, and all it keeps is the actions of the step running now. The scope's
 * shape is xstate's own, not its public API: package.json pins xstate exactly (5.33.3), and an
 * upgrade is a deliberate change that the machine tests check.
 */
let stepActions: ExecutableActionObject[] = [];
const scope: Parameters<typeof roomMachine.transition>[2] = (() => {
  // Never started: it only lends the scope an actor reference and a system. Its input is a placeholder.
  const self = createActor(roomMachine, {
    input: {
      roomId: '',
      roomCode: '',
      name: '',
      hostId: '',
      createdAt: 0,
      schedule: { startAt: null, endAt: null },
      settings: { lock_room: false, enable_transcription: false, max_participants: 2 },
      timings: { emptyRoomTimeoutMs: 0, soloRoomTimeoutMs: 0, unusedRoomTimeoutMs: 0, reconnectGraceMs: 0, lobbyRejectCooldownMs: 0, scheduledEndWarningMs: 0 },
    },
  });
  return {
    self,
    id: '',
    sessionId: '',
    system: self.system,
    logger: () => {},
    defer: () => {},
    emit: () => {},
    stopChild: () => {},
    actionExecutor: (action) => {
      stepActions.push(action);
    },
  };
})();

/** Runs the machine once in the shared scope: the next snapshot and the actions it did not run. */
function runInScope(run: () => RoomSnapshot): [RoomSnapshot, ExecutableActionObject[]] {
  stepActions = [];
  try {
    return [run(), stepActions];
  } finally {
    stepActions = [];
  }
}

/**
 * A new room: pending, nobody in it. The same snapshot as the machine's initial one (`pending`
 * has no entry actions, and nobody has the floor), resolved directly, as an activation is.
 */
export function createRoomSnapshot(input: RoomInput): RoomSnapshot {
  return restoreRoomSnapshot('pending', initialRoomContext(input), input.settings.lock_room);
}

/**
 * Rebuilds a snapshot from stored state (PostgreSQL + live state), e.g. on another node. The
 * state value follows from the stored facts: the status, who is in (an active room's occupancy),
 * the lock (`settings.lock_room` as PostgreSQL keeps it) and whether someone has the floor. No
 * entry action runs: the deadlines come with the context.
 */
export function restoreRoomSnapshot(status: RoomStatus, context: RoomContext, locked: boolean): RoomSnapshot {
  const headCount = Object.keys(context.participants).length;
  const occupancy = headCount === 0 ? 'empty' : headCount === 1 ? 'solo' : 'occupied';
  const value = {
    lifecycle: status === 'active' ? { active: occupancy } : status,
    admission: locked ? 'locked' : 'open',
    speaker: context.activeSpeaker === null ? 'silent' : 'speaking',
  };
  return roomMachine.resolveState({ value, context: { ...context, refusal: null } });
}

/** Runs one command through the machine. A refused command yields only the refusal. */
export function step(snapshot: RoomSnapshot, event: RoomEvent): StepResult {
  const [next, actions] = runInScope(() => roomMachine.transition(snapshot, event, scope));
  if (next.context.refusal) return { refused: next.context.refusal };
  const changes: DurableChange[] = [];
  const notices: RoomNotice[] = [];
  // xstate types these loosely; `persist` carries a DurableChange, `xstate.emit` a RoomNotice.
  for (const { type, params } of actions as { type: string; params: unknown }[]) {
    if (type === 'persist') changes.push(params as DurableChange);
    else if (type === 'xstate.emit') notices.push((params as { event: RoomNotice }).event);
  }
  return { refused: null, snapshot: next, changes, notices, changed: next.context !== snapshot.context };
}

/** A room's settings: the context's, with the lock its admission state says. */
export const settingsOf = (snapshot: RoomSnapshot): RoomSettings => withLock(snapshot.context.settings, snapshot.matches({ admission: 'locked' }));

/** The contract's room status of a snapshot. */
export function statusOf(snapshot: RoomSnapshot): RoomStatus {
  if (snapshot.matches({ lifecycle: 'active' })) return 'active';
  return snapshot.matches({ lifecycle: 'ended' }) ? 'ended' : 'pending';
}
