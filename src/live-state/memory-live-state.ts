import { performance } from 'node:perf_hooks';
import {
  emptyLiveState,
  type LiveLobbyEntry,
  type LiveParticipant,
  type LiveRoomState,
  type LiveStateChange,
  type LiveStateStore,
  type MapChange,
} from './live-state';

/** One room as stored. Maps, not records, so a user id like `__proto__` is just a key. */
interface MemoryRoom {
  participants: Map<string, LiveParticipant>;
  lobby: Map<string, LiveLobbyEntry>;
  activeSpeaker: string | null;
  deadlines: Map<string, number>;
  connections: Map<string, string[]>;
  knockCooldowns: Map<string, number>;
  expiresAt: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The live-state store of a single node: a map in this process, with the same TTL semantics as
 * the Redis keys so both pass one contract suite and a room left behind by a bug still expires.
 * Values are cloned on the way in and out; callers never hold a reference to stored state.
 */
export function createMemoryLiveStateStore(options: { ttlMs: number }): LiveStateStore & { close(): void } {
  const { ttlMs } = options;
  const rooms = new Map<string, MemoryRoom>();

  const remove = (roomCode: string): void => {
    const room = rooms.get(roomCode);
    if (room) clearTimeout(room.timer);
    rooms.delete(roomCode);
  };

  // The timer frees memory; this check makes expiry exact even when the timer runs late.
  const live = (roomCode: string): MemoryRoom | undefined => {
    const room = rooms.get(roomCode);
    if (room && room.expiresAt <= performance.now()) {
      remove(roomCode);
      return undefined;
    }
    return room;
  };

  const touch = (roomCode: string, room: MemoryRoom): void => {
    room.expiresAt = performance.now() + ttlMs;
    if (room.timer) {
      // The delay is always ttlMs, so restarting the one timer is enough.
      room.timer.refresh();
    } else {
      room.timer = setTimeout(() => {
        if (rooms.get(roomCode) === room) rooms.delete(roomCode);
      }, ttlMs);
      // An expiry must never keep the process alive.
      room.timer.unref();
    }
  };

  const store: LiveStateStore & { close(): void } = {
    async read(roomCode) {
      const room = live(roomCode);
      if (!room) return emptyLiveState();
      const state: LiveRoomState = {
        participants: Object.fromEntries(structuredClone(room.participants)),
        lobby: Object.fromEntries(structuredClone(room.lobby)),
        activeSpeaker: room.activeSpeaker,
        deadlines: Object.fromEntries(room.deadlines),
        connections: Object.fromEntries(structuredClone(room.connections)),
        knockCooldowns: Object.fromEntries(room.knockCooldowns),
      };
      return state;
    },

    async apply(roomCode, change) {
      const room = live(roomCode) ?? newRoom();
      applyChange(room, change);
      // Like Redis, where a hash or set with no members does not exist: nothing left, nothing stored.
      if (isEmpty(room)) {
        remove(roomCode);
        return;
      }
      rooms.set(roomCode, room);
      touch(roomCode, room);
    },

    async refresh(roomCodes) {
      for (const roomCode of roomCodes) {
        const room = live(roomCode);
        if (room) touch(roomCode, room);
      }
    },

    async delete(roomCode) {
      remove(roomCode);
    },

    // One process arms every deadline itself: there is no index besides the room's own deadlines.
    schedule: (roomCode, name, at) => store.apply(roomCode, { deadlines: { set: { [name]: at }, delete: [] } }),

    close() {
      for (const room of rooms.values()) clearTimeout(room.timer);
      rooms.clear();
    },
  };
  return store;
}

function newRoom(): MemoryRoom {
  return {
    participants: new Map(),
    lobby: new Map(),
    activeSpeaker: null,
    deadlines: new Map(),
    connections: new Map(),
    knockCooldowns: new Map(),
    expiresAt: 0,
    timer: undefined,
  };
}

function applyChange(room: MemoryRoom, change: LiveStateChange): void {
  applyMapChange(room.participants, change.participants);
  applyMapChange(room.lobby, change.lobby);
  applyMapChange(room.deadlines, change.deadlines);
  applyMapChange(room.connections, change.connections);
  applyMapChange(room.knockCooldowns, change.knockCooldowns);
  if (change.activeSpeaker !== undefined) room.activeSpeaker = change.activeSpeaker;
}

/** Deletes first, then sets: a key in both ends up set (the Redis store orders its commands alike). */
function applyMapChange<V>(map: Map<string, V>, change: MapChange<V> | undefined): void {
  if (!change) return;
  for (const key of change.delete ?? []) map.delete(key);
  for (const [key, value] of Object.entries(change.set ?? {})) map.set(key, structuredClone(value));
}

function isEmpty(room: MemoryRoom): boolean {
  return (
    room.participants.size === 0 &&
    room.lobby.size === 0 &&
    room.activeSpeaker === null &&
    room.deadlines.size === 0 &&
    room.connections.size === 0 &&
    room.knockCooldowns.size === 0
  );
}
