import type { Logger } from 'pino';
import { StaleOwnerError, type Fence, type RoomFence } from '../live-state/fencing';
import type { Ownership } from './ownership';

/**
 * The rooms this node holds a claim on (ownership.ts makes and checks claims in Redis; this is
 * the node's own memory of them). A claim counts only while the node's heartbeat lease holds, so
 * a node that lost touch with Redis stops writing before anyone else takes its rooms over.
 * It is also the fence of this node's room runtime: a PostgreSQL write carries the claim's epoch.
 */
export interface NodeClaims extends RoomFence {
  /** This node's claim on the room, while its lease holds. */
  fenceOf(roomCode: string): Fence | undefined;
  /**
   * Whether a claim this node just won replaces an older claim of this node: someone else held
   * the room in between, so what this node remembers of it is stale.
   */
  replaces(roomCode: string, fence: Fence): boolean;
  /** Remembers a claim this node just won. */
  record(roomCode: string, fence: Fence): void;
  /** Forgets a claim without telling Redis (it moved on, or it expires by itself). */
  forget(roomCode: string): void;
  /** Deletes the owner record: the room ended or never existed, so nothing is left behind. */
  retire(roomCode: string): Promise<void>;
  /** Gives the room back (still existing) so the next command anywhere claims it at once. */
  release(roomCode: string): Promise<void>;
  /** The SIGTERM hand-off's last step: every claim given back. */
  releaseAll(): Promise<void>;
  /** The lease lapsed: every claim is void. */
  clear(): void;
  /**
   * The runtime let a room's actor go. A room created here that nobody used gives its claim
   * back (`unused`), so no record or index entry outlives it; any other idle room keeps its
   * record until the claim expires.
   */
  unloaded(roomCode: string, unused: boolean): void;
}

export function createNodeClaims(ownership: Ownership, options: { leaseValid(): boolean; logger: Logger }): NodeClaims {
  const { leaseValid, logger } = options;
  const fences = new Map<string, Fence>();

  const fenceOf = (roomCode: string) => (leaseValid() ? fences.get(roomCode) : undefined);

  async function giveBack(roomCode: string, how: 'retire' | 'release'): Promise<void> {
    const fence = fences.get(roomCode);
    if (!fence) return;
    fences.delete(roomCode);
    // Best effort: a record left behind expires with its claim (60 s).
    await ownership[how](roomCode, fence).catch((error: unknown) => logger.warn({ err: error, room_code: roomCode }, `could not ${how} a room claim`));
  }

  return {
    fenceOf,
    epochOf(roomCode) {
      const fence = fenceOf(roomCode);
      if (!fence) throw new StaleOwnerError(roomCode, 'this node holds no claim on it');
      return fence.epoch;
    },
    replaces(roomCode, fence) {
      const known = fences.get(roomCode);
      return known !== undefined && known.epoch !== fence.epoch;
    },
    record: (roomCode, fence) => void fences.set(roomCode, fence),
    forget: (roomCode) => void fences.delete(roomCode),
    retire: (roomCode) => giveBack(roomCode, 'retire'),
    release: (roomCode) => giveBack(roomCode, 'release'),
    async releaseAll() {
      await Promise.allSettled([...fences.keys()].map((roomCode) => giveBack(roomCode, 'release')));
    },
    clear: () => fences.clear(),
    unloaded(roomCode, unused) {
      if (unused) void giveBack(roomCode, 'retire');
      else fences.delete(roomCode);
    },
  };
}
