import type { NewRoom, OutboxRows } from './room-repository';
import type { RoomSnapshot } from './machine-runner';
import type { DurableChange, RoomContext, RoomNotice } from './room.types';

/** A command's outcome, as the room runtime has it when it commits. */
export interface RoomOutcome {
  before: RoomContext;
  after: RoomSnapshot;
  changes: readonly DurableChange[];
  notices: readonly RoomNotice[];
  at: number;
}

/**
 * Whoever listens to rooms' commits (the webhooks, webhooks/room-webhooks.ts) plugs in here: it
 * says what to write with a commit, in the same transaction, and hears when it is done. Rooms
 * define this port and never import who implements it.
 */
export interface RoomOutbox {
  /** The rows of a commit's outcomes (one per command, in order), or null when there are none. */
  ofCommands(outcomes: readonly RoomOutcome[]): OutboxRows | null;
  /** The rows of a room about to be created, or null. */
  ofCreated(room: NewRoom): OutboxRows | null;
  /** Rows were committed for `roomCode`: whoever delivers them looks now, not at its next poll. */
  committed(roomCode: string): void;
}

/** Rows of several sources written together, in order; null when none has any. */
export function joinRows(each: (OutboxRows | null)[]): OutboxRows | null {
  const present = each.filter((rows) => rows !== null);
  return present.length === 0 ? null : (condition) => present.flatMap((rows) => rows(condition));
}

/** Several listeners as one: each commit writes all their rows, and all of them hear it committed. */
export function combineOutboxes(...outboxes: RoomOutbox[]): RoomOutbox {
  return {
    ofCommands: (outcomes) => joinRows(outboxes.map((outbox) => outbox.ofCommands(outcomes))),
    ofCreated: (room) => joinRows(outboxes.map((outbox) => outbox.ofCreated(room))),
    committed: (roomCode) => outboxes.forEach((outbox) => outbox.committed(roomCode)),
  };
}

/** Nobody listens: nothing written with the commits. */
export const noOutbox: RoomOutbox = { ofCommands: () => null, ofCreated: () => null, committed: () => undefined };
