import type { Logger } from 'pino';
import { AppError } from '../errors/app-error';
import { isOutage } from '../errors/to-app-error';
import { lobbyInOrder, seesParticipants, socketsOf } from './step-helpers';
import type { Participant, RoomContext, RoomEvent, RoomNotice, RoomSettings, LobbyEntry } from './room.types';
import type { Schedule } from './schedule';
import type { NewRoom } from './room-repository';
import { settingsOf, statusOf, type RoomSnapshot, type RoomStatus } from './machine-runner';

/**
 * The only way code touches a room: `router.dispatch(room_code, command)`. The router finds the
 * room's owner (the node whose room runtime runs its actor; activating it there if needed), runs the
 * command after the ones before it, and answers with a typed reply or throws an AppError.
 * Callers cannot tell where the actor runs: the in-process router (in-process-router.ts) has
 * one runtime for every room; the Redis router (src/cluster/redis-room-router.ts) forwards to the
 * node that owns the room. Replies are plain JSON so they can cross the wire.
 */

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A command: a machine event without its time (the actor stamps it), or a read of the room. */
export type RoomCommand = DistributiveOmit<RoomEvent, 'at'> | { type: 'inspect' };
export type RoomCommandType = RoomCommand['type'];

/** What every reply carries: the room after the command. */
export interface RoomSummary {
  roomCode: string;
  name: string;
  status: RoomStatus;
  hostId: string;
  settings: RoomSettings;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  schedule: Schedule;
  participantCount: number;
  lobbyCount: number;
}

interface ReplyDetails {
  inspect: object;
  join: { joined: boolean; participant: Participant | null };
  admit: { participant: Participant };
  admitAll: { admitted: string[]; waiting: string[] };
  reject: object;
  /** Who was turned away, in serving order. */
  rejectAll: { rejected: string[] };
  /** Who was asked. */
  requestMute: { requested: string[] };
  remove: object;
  setCoHost: { participant: Participant };
  setMedia: object;
  leave: object;
  end: object;
  configure: object;
  expire: object;
  /** Participants by joining time, and the lobby in serving order (only the host may be shown it). */
  viewParticipants: RoomRoster;
  /** What a socket needs to show the room at once (docs/realtime.md "Events", `room:attach`); a waiting user's roster is empty and its speaker null. */
  attach: RoomRoster & { joined: boolean; activeSpeaker: string | null };
  detach: object;
  /** Whether the participant signalled has a socket attached to take it. */
  signal: { delivered: boolean };
  cancelWaiting: object;
  setHardware: object;
  speakingStarted: object;
  speakingStopped: object;
}

export interface RoomRoster {
  participants: Participant[];
  lobby: LobbyEntry[];
}

export type RoomReply<T extends RoomCommandType> = { room: RoomSummary } & ReplyDetails[T];

/**
 * Delivers what a room tells its members (the realtime layer, src/realtime/room-publisher.ts).
 * Called after the effects of the commands it tells of are written, in the room's command order.
 * `attached`: whether a socket was attached to the room before, during or after those commands
 * (room-batch.ts); when none was, no socket is in the room's channel on any node.
 */
export type NoticePublisher = (roomCode: string, notices: readonly RoomNotice[], attached: boolean) => void;

export interface RoomRouter {
  /**
   * Creates a room (pending, nobody in it) and, where it can, activates its actor on this node
   * at once: nothing about a brand-new room needs loading, so the commands that usually follow
   * (the host joining) start from memory. False, with nothing written, when the code is taken.
   */
  create(room: NewRoom): Promise<boolean>;
  dispatch<C extends RoomCommand>(roomCode: string, command: C): Promise<RoomReply<C['type']>>;
  /** Stops timers and waits for commands in flight (in a cluster, then hands the rooms off). */
  close(): Promise<void>;
}

/**
 * What a router answers for an error that is not the room's own answer (PostgreSQL or Redis
 * failed): logged once, here, and 503 UNAVAILABLE to the caller, who may retry. Nothing changed,
 * unless PostgreSQL took the change before Redis failed: then it stands (the next command reads
 * the room from PostgreSQL), which repeating the command, safe for every room command, confirms.
 */
export function asRoomError(error: unknown, logger: Logger, roomCode: string, command: RoomCommand): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof Error && isOutage(error)) {
    logger.warn({ err: error, room_code: roomCode, command: command.type }, 'room command failed: a store is unreachable');
    return new AppError('UNAVAILABLE');
  }
  logger.error({ err: error, room_code: roomCode, command: command.type }, 'room command failed');
  return new AppError('UNAVAILABLE');
}

/** The summary of a room just created: pending, nobody in it or waiting. */
export const newRoomSummary = (room: NewRoom): RoomSummary => ({
  roomCode: room.roomCode,
  name: room.name,
  status: 'pending',
  hostId: room.hostId,
  settings: room.settings,
  createdAt: room.createdAt,
  startedAt: null,
  endedAt: null,
  schedule: room.schedule,
  participantCount: 0,
  lobbyCount: 0,
});

/** The summary of a snapshot. */
export function summarize(snapshot: RoomSnapshot): RoomSummary {
  const c = snapshot.context;
  return {
    roomCode: c.roomCode,
    name: c.name,
    status: statusOf(snapshot),
    hostId: c.hostId,
    settings: settingsOf(snapshot),
    createdAt: c.createdAt,
    startedAt: c.startedAt,
    endedAt: c.endedAt,
    schedule: c.schedule,
    participantCount: Object.keys(c.participants).length,
    lobbyCount: Object.keys(c.lobby).length,
  };
}

/** The reply to an accepted command, from the context before it and the snapshot after it. */
export function replyTo<C extends RoomCommand>(command: C, before: RoomContext, after: RoomSnapshot): RoomReply<C['type']> {
  const room = summarize(after);
  const next = after.context;
  const details = (): ReplyDetails[RoomCommandType] => {
    switch (command.type) {
      case 'join': {
        const participant = next.participants[command.userId] ?? null;
        return { joined: participant !== null, participant };
      }
      case 'admit':
      case 'setCoHost':
        return { participant: next.participants[command.userId]! };
      case 'admitAll':
        return {
          admitted: lobbyInOrder(before)
            .filter((w) => next.participants[w.userId])
            .map((w) => w.userId),
          waiting: lobbyInOrder(next).map((w) => w.userId),
        };
      case 'rejectAll':
        return {
          rejected: lobbyInOrder(before)
            .filter((w) => !next.lobby[w.userId])
            .map((w) => w.userId),
        };
      case 'requestMute':
        return { requested: command.userId === null ? Object.keys(next.participants).filter((id) => id !== command.by) : [command.userId] };
      case 'viewParticipants':
        return rosterOf(next);
      case 'signal':
        return { delivered: socketsOf(next, command.to).length > 0 };
      case 'attach': {
        // A waiting user is told their own status only (docs/realtime.md "Events"), by the rule of viewParticipants.
        const sees = seesParticipants(next, command.userId);
        return {
          ...(sees ? rosterOf(next) : { participants: [], lobby: [] }),
          joined: Object.hasOwn(next.participants, command.userId),
          activeSpeaker: sees ? next.activeSpeaker : null,
        };
      }
      default:
        return {};
    }
  };
  return { room, ...details() } as RoomReply<C['type']>;
}

const rosterOf = (c: RoomContext): RoomRoster => ({
  participants: Object.values(c.participants).sort((a, b) => a.joinedAt - b.joinedAt || (a.userId < b.userId ? -1 : 1)),
  lobby: lobbyInOrder(c),
});
