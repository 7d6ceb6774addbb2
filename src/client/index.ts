/**
 * The meeting-rooms client SDK: `import { MeetingClient } from '…/client'`. One entry point for
 * browsers and Node.js; the level meter needs WebAudio (browsers only).
 */
export { MeetingClient, type ConnectionState, type MeetingClientOptions, type Reattached } from './meeting-client';
export { MeetingError, type MeetingErrorCode } from './meeting-error';
export { RoomSession } from './room-session';
export { defaultMaxCallSize, type RoomSnapshot, type SessionEvent, type SessionStatus, type WaitingUser } from './room-snapshot';
export type { RemoteMedia } from './mesh';
export type { JoinResult, MeetingsApi, ParticipantsResult } from './rest-api';
export { dbfs, levelIntervalMs, silenceDb } from './dbfs';
export { createLevelMeter, reportLevels, type LevelMeter } from './level-meter';
export type { AttachData, ClientToServerEvents, EventError, IceServerView, RtcSignal, ServerToClientEvents } from '../contract/events';
export type { ErrorCode, FieldError } from '../contract/errors';
export type { HistoryItemView, HistoryPage, LobbyEntryView, ParticipantView, RoomSettingsView, RoomView, SessionView, UserView } from '../contract/schemas';
export type { InvitationView } from '../contract/invitations';
