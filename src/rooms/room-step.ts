import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import type { RoomStatus } from './room.entity';
import { roomMachine, type DurableChange, type Refusal, type RoomContext, type RoomEvent, type RoomInput, type RoomNotice } from './room.machine';

/**
 * The room machine as plain functions: one command in, the next snapshot and its effects out.
 * Pure (xstate's `transition()` runs no actions), so the machine is tested without I/O and the
 * runtime decides when effects run and whether the next snapshot is adopted.
 */

export type RoomSnapshot = SnapshotFrom<typeof roomMachine>;
export type { RoomStatus };

export type StepResult =
  | { refused: Refusal }
  | { refused: null; snapshot: RoomSnapshot; changes: DurableChange[]; notices: RoomNotice[]; changed: boolean };

/** A new room: pending, nobody in it. */
export function createRoomSnapshot(input: RoomInput): RoomSnapshot {
  return initialTransition(roomMachine, input)[0];
}

/** Rebuilds a snapshot from stored state (PostgreSQL + live state), e.g. on another node. */
export function restoreRoomSnapshot(status: RoomStatus, context: RoomContext): RoomSnapshot {
  const value =
    status === 'active'
      ? { active: { admission: context.settings.lock_room ? 'locked' : 'open', speaker: context.activeSpeaker ? 'speaker' : 'none' } }
      : status;
  return roomMachine.resolveState({ value, context: { ...context, refusal: null } });
}

/** Runs one command through the machine. A refused command yields only the refusal. */
export function step(snapshot: RoomSnapshot, event: RoomEvent): StepResult {
  const [next, actions] = transition(roomMachine, snapshot, event);
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

/** The contract's room status of a snapshot. */
export function statusOf(snapshot: RoomSnapshot): RoomStatus {
  if (snapshot.matches('active')) return 'active';
  return snapshot.matches('ended') ? 'ended' : 'pending';
}
