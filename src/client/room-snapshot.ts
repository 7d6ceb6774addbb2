import type { LobbyEntryView, ParticipantView, RoomSettingsView } from '../contract/schemas';
import type { ConnectionState } from './meeting-client';
import type { MeetingError } from './meeting-error';
import type { RemoteMedia } from './mesh';

/** What a room session (room-session.ts) tells a page: the room as one value to draw, and what happened to its user. */

/** Where this page is in the room. `superseded`: the same user attached from another page, which has the call now. */
export type SessionStatus = 'detached' | 'waiting' | 'joined' | 'rejected' | 'superseded' | 'over';

/** Someone in the lobby, as a moderator sees them (the lobby events carry only these two fields). */
export type WaitingUser = Pick<LobbyEntryView, 'user_id' | 'display_name'>;

/** Everything a page draws, as one read-only value; a new one after every change. */
export interface RoomSnapshot {
  status: SessionStatus;
  participants: ReadonlyMap<string, ParticipantView>;
  /** The host and the co-hosts only (empty for the others), in arrival order. */
  lobby: ReadonlyMap<string, WaitingUser>;
  activeSpeaker: string | null;
  settings: RoomSettingsView | null;
  roomStatus: 'pending' | 'active' | 'ended' | null;
  connection: ConnectionState;
  /** Per other participant: what this page receives from them and how the call with them is. */
  media: ReadonlyMap<string, RemoteMedia>;
  /** The switches: on while the device is there and not switched off. */
  microphoneOn: boolean;
  cameraOn: boolean;
  /** Whether there is a microphone or a camera to send at all (setLocalStream). */
  hasMicrophone: boolean;
  hasCamera: boolean;
  /** More people are in the room than a call takes (maxCallSize): only the first who joined have media. */
  callFull: boolean;
  /** This user is among those: false while waiting, and for the later arrivals of a full call. */
  inCall: boolean;
  maxCallSize: number;
}

/**
 * The most people in one call until the server says (`mesh_max_participants` in the attach
 * answer, its MESH_MAX_PARTICIPANTS): each sends their camera and microphone to each other one,
 * so a mesh of n people sends n-1 copies up from every browser.
 */
export const defaultMaxCallSize = 4;

/** What happened to this page's user, beyond the room's state. */
export type SessionEvent =
  | { type: 'waiting'; reason: 'locked' | 'host_not_started' }
  | { type: 'rejected' }
  | { type: 'left'; reason: 'left' | 'removed' | 'disconnected' }
  | { type: 'ended' }
  | { type: 'superseded' }
  /** The host or a co-host asked this user to mute: the microphone is off already. */
  | { type: 'mute_requested'; by: string; at: string }
  /** The meeting ends by itself at `endsAt` (ISO), its scheduled end: SCHEDULED_END_WARNING_S ahead. */
  | { type: 'ending'; endsAt: string }
  /** Attaching again after a reconnect failed (REMOVED_FROM_ROOM, ROOM_NOT_FOUND, NOT_A_PARTICIPANT, …). */
  | { type: 'failed'; error: MeetingError };
