import { createHash } from 'node:crypto';

/**
 * The Redis key names of a room's live state (docs/operations.md "Redis keys"). Other services read these keys,
 * so the names are part of the contract: with an empty prefix they are exactly the names below,
 * braces included. The braces are a Redis Cluster hash tag: every key of one room hashes on its
 * code alone, so they share one slot and a script may touch them all.
 *
 *   room:{code}:participants    Hash   user_id → JSON {status, language, hardware_ready, display_name, role, joined_at}
 *   room:{code}:lobby           Set    user_id (who waits; the authority on lobby membership)
 *   room:{code}:lobby_entries   Hash   user_id → JSON {display_name, language, hardware_ready, since}
 *   room:{code}:active_speaker  String user_id
 *   room:{code}:deadlines       Hash   name (`empty_room`, `grace:{user_id}`) → epoch milliseconds as a decimal string
 *   room:{code}:connections     Hash   user_id → JSON array of the socket ids attached to the room
 *   room:{code}:knock_cooldowns Hash   user_id → epoch ms until which that rejected user may not knock
 *
 * Beside them, the cluster keeps (src/cluster/):
 *
 *   room:{code}:owner           Hash   node → the owning node's id, epoch → its fencing token (docs/scaling.md "How rooms run in a cluster")
 *   node:{node_id}              String the node's heartbeat; it expires when the node stops refreshing it
 *   node:{node_id}:rooms        Set    the rooms the node claimed, for adopting them if it dies
 *   rooms:deadlines:{n}         ZSet   room_code scored by its earliest deadline (epoch ms), so any node
 *                                      can run the deadlines of a room whose owner died or left; one of
 *                                      16 buckets (n = 0…15), chosen by the room code
 *   {cluster}:nodes             ZSet   node_id scored by its last heartbeat (epoch ms), to find dead nodes
 *   {cluster}:marker            String written once by the first heartbeat a Redis sees; when it is
 *                                      gone or changed, Redis lost its data (restarted empty, failed over)
 *   {cluster}:restoring         String present for a few seconds after Redis lost its data: rooms
 *                                      without an owner record go back to their previous owners first
 *
 * No script touches keys of two slots: a room's keys share its slot, a node's keys share the
 * node's, and the three cluster-wide keys share `{cluster}`'s.
 *
 * The prefix (REDIS_PREFIX) is applied here rather than through ioredis `keyPrefix`, so every
 * key the code touches is visible in one place and raw clients see the same names.
 */

export interface LiveStateKeys {
  participants: string;
  lobby: string;
  lobbyEntries: string;
  activeSpeaker: string;
  deadlines: string;
  connections: string;
  knockCooldowns: string;
}

/** The key names of one room's live state under `prefix`. */
export function liveStateKeys(prefix: string, roomCode: string): LiveStateKeys {
  const base = `${prefix}room:{${roomCode}}:`;
  return {
    participants: `${base}participants`,
    lobby: `${base}lobby`,
    lobbyEntries: `${base}lobby_entries`,
    activeSpeaker: `${base}active_speaker`,
    deadlines: `${base}deadlines`,
    connections: `${base}connections`,
    knockCooldowns: `${base}knock_cooldowns`,
  };
}

/** Every key of one room's live state (what expires together and is deleted together). */
export function allLiveStateKeys(prefix: string, roomCode: string): string[] {
  return Object.values(liveStateKeys(prefix, roomCode));
}

/** `room:{code}:owner`: which node runs the room's actor, and the epoch it claimed it with. */
export const ownerKey = (prefix: string, roomCode: string): string => `${prefix}room:{${roomCode}}:owner`;

/** `node:{node_id}`: present while the node is alive. */
export const nodeKey = (prefix: string, nodeId: string): string => `${prefix}node:{${nodeId}}`;

/** `node:{node_id}:rooms`: the rooms a node has claimed (another node adopts them if it dies). */
export const nodeRoomsKey = (prefix: string, nodeId: string): string => `${prefix}node:{${nodeId}}:rooms`;

/** How many keys the deadline index is spread over, so no single Redis shard holds all of it. */
export const deadlineIndexBuckets = 16;

/** `rooms:deadlines:{n}`: the bucket of the deadline index that holds this room. */
export function deadlineIndexKey(prefix: string, roomCode: string): string {
  // Any stable spread will do: the bucket is found again from the room code alone.
  return deadlineBucketKey(prefix, createHash('sha1').update(roomCode).digest().readUInt16BE(0) % deadlineIndexBuckets);
}

/** `rooms:deadlines:{n}`: one bucket of the deadline index; every node polls all of them. */
export const deadlineBucketKey = (prefix: string, bucket: number | string): string => `${prefix}rooms:deadlines:{${bucket}}`;

/** `{cluster}:nodes`: every node's last heartbeat time, so the others can tell which ones died. */
export const nodeRegistryKey = (prefix: string): string => `${prefix}{cluster}:nodes`;

/** `{cluster}:marker`: set by the first heartbeat on an empty Redis; a changed one means Redis lost its data. */
export const clusterMarkerKey = (prefix: string): string => `${prefix}{cluster}:marker`;

/** `{cluster}:restoring`: while it exists, only a room's previous owner may claim a room that has no owner record. */
export const restoringKey = (prefix: string): string => `${prefix}{cluster}:restoring`;
