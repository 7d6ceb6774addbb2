import type { RoomSnapshot } from './machine-runner';

/**
 * Snapshots of rooms a node stopped holding, kept for a while (its lease lapsed, Redis lost its
 * data, or a live-state write failed after PostgreSQL took the change): if the room comes back
 * to this node with an empty live state, the snapshot is what goes back in (room-runtime.ts).
 */
export interface RetainedSnapshots {
  keep(roomCode: string, snapshot: RoomSnapshot): void;
  /** The room's snapshot if one is kept and still young enough; forgotten either way. */
  take(roomCode: string): RoomSnapshot | undefined;
  has(roomCode: string): boolean;
  rooms(): string[];
  clear(): void;
}

/** How long a snapshot set aside may be written back; after that the stores know better. */
const keepForMs = 60_000;

export function createRetainedSnapshots(now: () => number): RetainedSnapshots {
  const kept = new Map<string, { snapshot: RoomSnapshot; at: number }>();
  return {
    keep(roomCode, snapshot) {
      const at = now();
      for (const [code, entry] of kept) if (at - entry.at >= keepForMs) kept.delete(code);
      kept.set(roomCode, { snapshot, at });
    },
    take(roomCode) {
      const entry = kept.get(roomCode);
      kept.delete(roomCode);
      return entry && now() - entry.at < keepForMs ? entry.snapshot : undefined;
    },
    has: (roomCode) => kept.has(roomCode),
    rooms: () => [...kept.keys()],
    clear: () => kept.clear(),
  };
}
