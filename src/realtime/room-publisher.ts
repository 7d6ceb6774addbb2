import { parseConnectionId } from '../live-state/connection-ids';
import type { NoticePublisher } from '../rooms/room-router';
import type { RoomNotice } from '../rooms/room.types';
import { toParticipantView } from '../rooms/room-views';
import type { Logger } from 'pino';
import { roomChannel, userChannel, type RemoteChannels } from './channels';
import type { MeetingServer } from './socket-server';
import type { SpeakerTunings } from './speaker-tunings';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** Rooms record sockets as connection ids (`{node_id}#{socket_id}`); Socket.IO knows socket ids. */
const socketIds = (connections: readonly string[]) => connections.map((id) => parseConnectionId(id).socketId);

/** Notices that go to the room's channel and nowhere else. */
const channelOnly: ReadonlySet<RoomNotice['type']> = new Set([
  'participant:joined',
  'participant:updated',
  'participant:left',
  'speaker:changed',
  'room:updated',
  'room:ending',
]);

/**
 * Turns what a room tells its members into the Socket.IO events of docs/realtime.md "Events", and keeps the
 * room channel's membership in step with the room (`channel:join`/`channel:leave`, and an ended
 * room empties it), in the order of the room's commands. Through the adapter this reaches
 * sockets on every node, and so does a room's speaker tuning (speaker-tunings.ts).
 *
 * While no socket is attached to a room (its host joined over REST and has not attached yet), its
 * channel is empty on every node, and what goes only there is not sent: with a Redis adapter that
 * is a publish every node would decode, for nobody (a socket that attaches later gets the room in
 * the attach's answer). Not when the server `recovers` connections: a socket that comes back
 * within the window is in the channel again before its room hears it, and has what it missed
 * replayed, so nothing may be left out.
 *
 * With `remote` (a Redis Cluster), sockets of other nodes change channels through it, and the
 * room's later notices wait until those nodes confirm: each room's notices go out through a
 * queue of its own, so one room's wait holds up no other.
 */
export function createRoomPublisher(
  io: MeetingServer,
  tunings: SpeakerTunings,
  options: { recovers: boolean; remote?: { channels: RemoteChannels; logger: Logger } },
): NoticePublisher {
  const heard = (notices: readonly RoomNotice[], attached: boolean) =>
    attached || options.recovers ? notices : notices.filter((notice) => !channelOnly.has(notice.type));
  const { remote } = options;
  if (!remote) {
    return (roomCode, notices, attached) => {
      for (const notice of heard(notices, attached)) deliver(io, tunings, roomCode, notice);
    };
  }
  const { channels, logger } = remote;
  const queues = new Map<string, Promise<void>>();
  return (roomCode, all, attached) => {
    const notices = heard(all, attached);
    const run = async () => {
      for (const notice of notices) {
        const moved = moveSockets(io, channels, roomCode, notice);
        if (!moved) {
          deliver(io, tunings, roomCode, notice);
          continue;
        }
        await moved;
        if (notice.type === 'channel:join' && notice.tuning) tunings.announce(roomCode, notice.tuning);
      }
    };
    const queued = (queues.get(roomCode) ?? Promise.resolve())
      .then(run)
      .catch((error: unknown) => logger.warn({ err: error, room_code: roomCode }, 'publishing failed'));
    queues.set(roomCode, queued);
    void queued.then(() => {
      if (queues.get(roomCode) === queued) queues.delete(roomCode);
    });
  };
}

/**
 * A room channel change, made here at once and on each other node through `channels`; resolves
 * once all have confirmed (or failed: a node that does not answer has died or is about to lose
 * its sockets, and the room goes on). Undefined for any other notice.
 */
function moveSockets(io: MeetingServer, channels: RemoteChannels, room_code: string, notice: RoomNotice): Promise<void> | undefined {
  if (notice.type !== 'channel:join' && notice.type !== 'channel:leave') return undefined;
  const channel = roomChannel(room_code);
  const op = notice.type === 'channel:join' ? 'join' : 'leave';
  const byNode = new Map<string, string[]>();
  for (const { nodeId, socketId } of notice.connections.map(parseConnectionId)) {
    if (nodeId === null || nodeId === channels.nodeId) continue;
    byNode.set(nodeId, [...(byNode.get(nodeId) ?? []), socketId]);
  }
  moveLocalSockets(io, { op, channel, socketIds: socketIds(notice.connections) });
  return Promise.all([...byNode].map(([node, ids]) => channels.move(node, { op, channel, socketIds: ids }).catch(() => undefined))).then(() => undefined);
}

/** Moves the sockets among these that this node holds into or out of a channel (another node's are not here). */
export function moveLocalSockets(io: MeetingServer, move: { op: 'join' | 'leave'; channel: string; socketIds: string[] }): void {
  const sockets = io.local.in(move.socketIds);
  if (move.op === 'join') sockets.socketsJoin(move.channel);
  else sockets.socketsLeave(move.channel);
}

type Selection = ReturnType<MeetingServer['in']>;

/**
 * Applies a membership change on this node at once and on the others through the adapter. The
 * Redis pub/sub adapter applies even its own node's share only when the message comes back from
 * Redis, after an event emitted next would already have been delivered here; doing the local
 * share first keeps membership ahead of the events, and applying it twice changes nothing.
 */
function everywhere(io: MeetingServer, target: string | string[], change: (sockets: Selection) => void): void {
  change(io.local.in(target));
  change(io.in(target));
}

function deliver(io: MeetingServer, tunings: SpeakerTunings, room_code: string, notice: RoomNotice): void {
  const room = roomChannel(room_code);
  switch (notice.type) {
    case 'channel:join':
      everywhere(io, socketIds(notice.connections), (sockets) => sockets.socketsJoin(room));
      if (notice.tuning) tunings.announce(room_code, notice.tuning);
      return;
    case 'channel:leave':
      everywhere(io, socketIds(notice.connections), (sockets) => sockets.socketsLeave(room));
      return;
    case 'lobby:waiting':
      io.to(userChannel(notice.userId)).emit('lobby:waiting', { room_code, reason: notice.reason });
      return;
    case 'lobby:entered':
      io.to(notice.moderators.map(userChannel)).emit('lobby:entered', { room_code, user_id: notice.userId, display_name: notice.displayName });
      return;
    case 'lobby:left':
      io.to(notice.moderators.map(userChannel)).emit('lobby:left', { room_code, user_id: notice.userId });
      return;
    case 'lobby:admitted':
      io.to(userChannel(notice.userId)).emit('lobby:admitted', { room_code });
      return;
    case 'lobby:rejected':
      io.to(userChannel(notice.userId)).emit('lobby:rejected', { room_code });
      return;
    case 'participant:joined':
      io.to(room).emit('participant:joined', { room_code, participant: toParticipantView(notice.participant) });
      return;
    case 'participant:updated':
      io.to(room).emit('participant:updated', { room_code, participant: toParticipantView(notice.participant) });
      return;
    case 'participant:left':
      io.to(room).emit('participant:left', { room_code, user_id: notice.userId, reason: notice.reason });
      return;
    case 'participant:removed':
      io.to(userChannel(notice.userId)).emit('participant:removed', { room_code });
      return;
    case 'participant:mute_requested':
      io.to(notice.userIds.map(userChannel)).emit('participant:mute_requested', { room_code, by: notice.by, at: iso(notice.at) });
      return;
    case 'speaker:changed':
      io.to(room).emit('speaker:changed', { room_code, user_id: notice.userId, at: iso(notice.at) });
      return;
    case 'room:updated':
      io.to(room).emit('room:updated', {
        room_code,
        settings: notice.settings,
        status: notice.status,
        scheduled_start_at: isoOrNull(notice.schedule.startAt),
        scheduled_end_at: isoOrNull(notice.schedule.endAt),
      });
      return;
    case 'speaker:tuned':
      tunings.announce(room_code, notice.tuning);
      return;
    case 'room:ended':
      // Everyone in the room or its lobby hears it once, attached or not; then the channel empties.
      io.to([room, ...notice.userIds.map(userChannel)]).emit('room:ended', { room_code, ended_at: iso(notice.at) });
      everywhere(io, room, (sockets) => sockets.socketsLeave(room));
      return;
    case 'room:ending':
      io.to(room).emit('room:ending', { room_code, ends_at: iso(notice.endsAt) });
      return;
    case 'rtc:signal':
      // Every socket is in a channel of its own id, on whichever node holds it.
      io.to(socketIds([notice.connection])).emit('rtc:signal', { room_code, from: notice.from, ...notice.signal });
      return;
    case 'rtc:superseded':
      io.to(socketIds(notice.connections)).emit('rtc:superseded', { room_code });
      return;
  }
}
