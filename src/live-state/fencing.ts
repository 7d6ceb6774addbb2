/**
 * Fencing (docs/scaling.md "How rooms run in a cluster"): the token a node holds while it owns a room, and the error every
 * write raises once another node has claimed the room since. The live state (a Lua check in
 * Redis) and PostgreSQL (`rooms.owner_epoch`, checked under the room row's lock) both refuse
 * a stale token, so a node that was slow, paused or cut off cannot change a room it lost.
 */
export interface Fence {
  /** The owning node's id. */
  node: string;
  /** Grows with every claim of the room: later claims always carry larger epochs. */
  epoch: number;
}

/**
 * A fenced write was refused: another node claimed the room since this node did (it was slow,
 * paused or cut off), or this node holds no claim on it. Nothing was written; route again.
 */
export class StaleOwnerError extends Error {
  constructor(
    readonly roomCode: string,
    detail: string,
  ) {
    super(`not the owner of room ${roomCode}: ${detail}`);
    this.name = 'StaleOwnerError';
  }
}

/**
 * What a room runtime fences its PostgreSQL writes with. One node fences nothing (`unfenced`); a
 * cluster node answers with its claim on the room, and refuses when it holds none.
 */
export interface RoomFence {
  /** The epoch to write the room with, or undefined for unfenced writes; StaleOwnerError if this node may not write it. */
  epochOf(roomCode: string): number | undefined;
}

/** A single node owns every room: nothing to fence. */
export const unfenced: RoomFence = { epochOf: () => undefined };
