import type { LobbyEntryView, ParticipantView, RoomView } from '../contract/schemas';
import { moderates, type Participant, type LobbyEntry } from './room.types';
import type { RoomSummary } from './room-router';

/** The contract's shapes (snake_case, ISO times) of what the room router replies. */

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** A room's share link: its page on this server (docs/api.md "Meetings"). */
export const joinUrlOf = (publicBaseUrl: string, roomCode: string): string => `${publicBaseUrl}/join/${roomCode}`;

/** `Room`; the host also sees `lobby_count`. */
export function toRoomView(room: RoomSummary, viewerId: string, publicBaseUrl: string): RoomView {
  return {
    room_code: room.roomCode,
    name: room.name,
    status: room.status,
    host_id: room.hostId,
    settings: room.settings,
    created_at: iso(room.createdAt),
    started_at: isoOrNull(room.startedAt),
    ended_at: isoOrNull(room.endedAt),
    scheduled_start_at: isoOrNull(room.schedule.startAt),
    scheduled_end_at: isoOrNull(room.schedule.endAt),
    participant_count: room.participantCount,
    join_url: joinUrlOf(publicBaseUrl, room.roomCode),
    ...(viewerId === room.hostId ? { lobby_count: room.lobbyCount } : {}),
  };
}

/** Whether `userId` may see the lobby in a room's roster: the host and the co-hosts (docs/api.md "Meetings", co-hosts). */
export const seesLobby = (roster: { room: { hostId: string }; participants: Participant[] }, userId: string): boolean =>
  moderates(roster.room.hostId, userId, roster.participants.find((p) => p.userId === userId)?.role);

/** Who is in a room, as `viewerId` may see it: the participants, and the lobby for a moderator. */
export const toRosterView = (roster: { room: { hostId: string }; participants: Participant[]; lobby: LobbyEntry[] }, viewerId: string) => ({
  participants: roster.participants.map(toParticipantView),
  ...(seesLobby(roster, viewerId) ? { lobby: roster.lobby.map(toLobbyEntryView) } : {}),
});

/** `Participant`. */
export const toParticipantView = (m: Participant): ParticipantView => ({
  user_id: m.userId,
  display_name: m.displayName,
  role: m.role,
  status: m.status,
  language: m.language,
  hardware_ready: m.hardwareReady,
  joined_at: iso(m.joinedAt),
  media: m.media,
});

/** A lobby entry, as the host sees it. */
export const toLobbyEntryView = (w: LobbyEntry): LobbyEntryView => ({
  user_id: w.userId,
  display_name: w.displayName,
  language: w.language,
  hardware_ready: w.hardwareReady,
  waiting_since: iso(w.since),
  invited: w.invited,
});
