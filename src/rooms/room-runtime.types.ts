import type { Logger } from 'pino';
import type { RoomTimings } from './room.types';
import type { NewRoom } from './room-repository';
import type { NoticePublisher, RoomCommand, RoomReply } from './room-router';
import type { RoomStore } from './room-store';

// The room runtime's contract (room-runtime.ts implements it): what it needs, and what it offers the routers.

export interface RoomRuntimeDeps {
  /** PostgreSQL (with the outbox) and the live state, fenced (room-store.ts). */
  store: RoomStore;
  logger: Logger;
  /** Tells members what changed; a failure here is logged, never undoes the command. */
  publish: NoticePublisher;
  timings: RoomTimings;
  /** How often the live state's TTL is pushed back for the rooms held here. */
  refreshEveryMs: number;
  /**
   * A room's deadline is due. The composition root sends it through the router as `expire`, so
   * in a cluster it reaches whichever node owns the room by then.
   */
  expire(roomCode: string): Promise<unknown>;
  /**
   * A room's actor left memory; `unused` when it was created here and no command came for it
   * (in a cluster the room's claim is given back then: `NodeClaims.unloaded`).
   */
  onUnload(roomCode: string, unused: boolean): void;
  now?: () => number;
}

/** A socket attached to a room held here, as the room records it. */
export interface HeldConnection {
  roomCode: string;
  userId: string;
  connectionId: string;
}

/**
 * Runs the actors of the rooms held on this node. Routers decide which rooms those are
 * (room-router.ts); the runtime only runs them.
 */
export interface RoomRuntime {
  /**
   * Writes a new room and, with `hold`, keeps its actor here from the start. False, with nothing
   * written, when the code is taken.
   */
  create(room: NewRoom, hold: boolean): Promise<boolean>;
  /** Runs a command after the room's earlier ones. Errors other than the room's own answers are the stores' (or the fence's). */
  run<C extends RoomCommand>(roomCode: string, command: C): Promise<RoomReply<C['type']>>;
  /** Forgets every room's snapshot (someone else held a room meanwhile): the next command reloads it. */
  unloadAll(): void;
  /**
   * Sets every room's snapshot aside (this node's claims lapsed, or Redis lost its data): the
   * next command reloads the room, and if the live state it finds is empty while the room was
   * held here, the snapshot set aside is written back instead of reading the loss as everyone gone.
   */
  suspend(): void;
  /** Rooms with a snapshot set aside (by `suspend`, or a live-state write that failed), to restore. */
  retainedRooms(): string[];
  /** Whether this node has the room's snapshot set aside. */
  retains(roomCode: string): boolean;
  /** The attached sockets recorded in the rooms held here. */
  connections(): HeldConnection[];
  /** Stops timers and waits for the commands in the mailboxes. */
  close(): Promise<void>;
}
