/**
 * The live, ephemeral state of a room (docs/operations.md "Redis keys"): who is in it and how they are doing, who
 * waits in the lobby, who speaks, and the room's pending deadlines. The room actor is the only
 * writer; other services may read the Redis keys (documented in docs/operations.md "Redis keys"). PostgreSQL keeps
 * the durable facts; this keeps what a room needs while it lives and is deleted when it ends.
 *
 * Two implementations pass one contract suite (test/contract/live-state.contract.ts):
 * in-process (single node) and Redis (cluster).
 */

/** The value of `room:{code}:participants` → user_id, exactly as docs/operations.md "Redis keys" specifies. */
export interface LiveParticipant {
  status: 'connected' | 'disconnected';
  language: string | null;
  hardware_ready: boolean;
  display_name: string;
  role: 'host' | 'co_host' | 'guest';
  /** ISO 8601. */
  joined_at: string;
  /** Microphone and camera on or off, as the participant's client said; null until it says. */
  media: { audio: boolean; video: boolean } | null;
}

/** What the room keeps about a user waiting in the lobby (`room:{code}:lobby_entries` → user_id). */
export interface LiveLobbyEntry {
  display_name: string;
  language: string | null;
  hardware_ready: boolean;
  /** ISO 8601: when the user started waiting (the lobby is served in this order). */
  since: string;
  /** Present (true) only for a user who joined with a valid invitation. */
  invited?: boolean;
}

/** Everything stored for one room. An unknown or expired room reads as `emptyLiveState()`. */
export interface LiveRoomState {
  participants: Record<string, LiveParticipant>;
  lobby: Record<string, LiveLobbyEntry>;
  activeSpeaker: string | null;
  /** Named deadlines (`empty_room`, `grace:{user_id}`), epoch milliseconds. */
  deadlines: Record<string, number>;
  /** The sockets each user has attached to the room (`room:{code}:connections` → user_id). */
  connections: Record<string, string[]>;
  /** Rejected users who may not knock again before then (LOBBY_REJECT_COOLDOWN_S), epoch milliseconds. */
  knockCooldowns: Record<string, number>;
}

/** A partial update of one map: entries to set (insert or replace) and keys to delete. */
export interface MapChange<V> {
  set?: Record<string, V>;
  delete?: string[];
}

/** One atomic update of a room's live state; absent parts are left unchanged. */
export interface LiveStateChange {
  participants?: MapChange<LiveParticipant>;
  lobby?: MapChange<LiveLobbyEntry>;
  /** `undefined` leaves it unchanged; `null` clears it. */
  activeSpeaker?: string | null;
  deadlines?: MapChange<number>;
  connections?: MapChange<string[]>;
  knockCooldowns?: MapChange<number>;
}

export interface LiveStateStore {
  /** The room's live state; empty when nothing is stored (never started, ended, or expired). */
  read(roomCode: string): Promise<LiveRoomState>;
  /** Applies the change atomically and refreshes the TTL of every key of the room. */
  apply(roomCode: string, change: LiveStateChange): Promise<void>;
  /** Pushes back the expiry of these rooms' keys (the owner calls this while the rooms live). */
  refresh(roomCodes: readonly string[]): Promise<void>;
  /** Deletes every key of the room (it ended). */
  delete(roomCode: string): Promise<void>;
  /**
   * Adds one deadline (`name` → epoch ms) to the room and to the cluster's index of deadlines,
   * and writes nothing else: a new room's first deadline, without the cost of `apply` (which
   * checks the fence and refreshes every key). Should the room's node go, whichever node runs
   * overdue rooms sends it `expire` then.
   */
  schedule(roomCode: string, name: string, at: number): Promise<void>;
}

export const emptyLiveState = (): LiveRoomState => ({ participants: {}, lobby: {}, activeSpeaker: null, deadlines: {}, connections: {}, knockCooldowns: {} });
