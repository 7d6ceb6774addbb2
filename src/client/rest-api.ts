import type {
  ConfigBody,
  CreateRoomBody,
  GuestBody,
  HistoryPage,
  HistoryQuery,
  JoinBody,
  LobbyEntryView,
  LoginBody,
  ParticipantView,
  RegisterBody,
  RoomSettingsView,
  RoomView,
  SessionView,
  UpcomingPage,
  UpcomingQuery,
  UserView,
} from '../contract/schemas';
import type { InvitationsBody, InvitationView } from '../contract/invitations';
import { errorFromProblem, MeetingError } from './meeting-error';

/** Where the API lives and who is calling: the token may change (sign in, sign out) between calls. */
export interface RestTarget {
  baseUrl: string;
  token(): string | undefined;
  fetch: typeof fetch;
}

/** What `POST /{room_code}/join` answers. */
export interface JoinResult {
  status: 'joined' | 'waiting';
  room: RoomView;
  participant?: ParticipantView;
}

/** What `GET /{room_code}/participants` answers; `lobby` for the host only. */
export interface ParticipantsResult {
  participants: ParticipantView[];
  lobby?: LobbyEntryView[];
}

/** The REST API (`/api/v1`), one method per route, typed with the server's own schemas. */
export function restApi(target: RestTarget) {
  const call = <T>(method: string, path: string, body?: unknown) => request<T>(target, method, path, body);
  const room = (code: string) => `/meetings/${encodeURIComponent(code)}`;
  const user = (id: string) => encodeURIComponent(id);
  const auth = {
    register: (body: RegisterBody) => call<SessionView>('POST', '/auth/register', body),
    login: (body: LoginBody) => call<SessionView>('POST', '/auth/login', body),
    guest: (body: GuestBody) => call<SessionView>('POST', '/auth/guest', body),
    me: () => call<UserView>('GET', '/auth/me'),
  };
  const meetings = {
    create: (body: CreateRoomBody) => call<RoomView>('POST', '/meetings', body),
    history: (query: Partial<HistoryQuery> = {}) => call<HistoryPage>('GET', `/meetings/history${queryString(query)}`),
    upcoming: (query: Partial<UpcomingQuery> = {}) => call<UpcomingPage>('GET', `/meetings/upcoming${queryString(query)}`),
    getRoom: (code: string) => call<RoomView>('GET', room(code)),
    participants: (code: string) => call<ParticipantsResult>('GET', `${room(code)}/participants`),
    join: (code: string, body: JoinBody = {}) => call<JoinResult>('POST', `${room(code)}/join`, body),
    admit: (code: string, userId: string) => call<{ status: 'admitted'; participant: ParticipantView }>('POST', `${room(code)}/admit/${user(userId)}`),
    admitAll: (code: string) => call<{ admitted: string[]; waiting: string[] }>('POST', `${room(code)}/admit-all`),
    reject: (code: string, userId: string) => call<{ status: 'rejected' }>('POST', `${room(code)}/reject/${user(userId)}`),
    grantCoHost: (code: string, userId: string) => call<{ participant: ParticipantView }>('POST', `${room(code)}/co-hosts/${user(userId)}`),
    revokeCoHost: (code: string, userId: string) => call<{ participant: ParticipantView }>('DELETE', `${room(code)}/co-hosts/${user(userId)}`),
    rejectAll: (code: string) => call<{ rejected: string[] }>('POST', `${room(code)}/reject-all`),
    requestMute: (code: string, userId: string) => call<{ requested: string[] }>('POST', `${room(code)}/mute/${user(userId)}`),
    requestMuteAll: (code: string) => call<{ requested: string[] }>('POST', `${room(code)}/mute-all`),
    remove: (code: string, userId: string) => call<{ status: 'removed' }>('POST', `${room(code)}/remove/${user(userId)}`),
    leave: (code: string) => call<{ status: 'left' }>('POST', `${room(code)}/leave`),
    end: (code: string) => call<RoomView>('POST', `${room(code)}/end`),
    invite: (code: string, body: InvitationsBody) => call<{ invitations: InvitationView[] }>('POST', `${room(code)}/invitations`, body),
    invitations: (code: string) => call<{ invitations: InvitationView[] }>('GET', `${room(code)}/invitations`),
    revokeInvitation: (code: string, invitationId: string) => call<{ invitation: InvitationView }>('DELETE', `${room(code)}/invitations/${user(invitationId)}`),
    configure: (code: string, body: ConfigBody) =>
      call<{ settings: RoomSettingsView; scheduled_start_at: string | null; scheduled_end_at: string | null }>('PATCH', `${room(code)}/config`, body),
  };
  return { auth, meetings };
}

/** `/api/v1/meetings`, one method per route. */
export type MeetingsApi = ReturnType<typeof restApi>['meetings'];

/** One call: JSON in, JSON out; any non-2xx becomes a MeetingError with the problem's code. */
async function request<T>(target: RestTarget, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = target.token();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await target.fetch(`${target.baseUrl}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new MeetingError('NETWORK_ERROR', `Could not reach the server: ${(error as Error).message}`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) throw errorFromProblem(response.status, parsed);
  if (parsed === undefined) throw new MeetingError('NETWORK_ERROR', `The server's answer is not JSON (HTTP ${response.status})`, response.status);
  return parsed as T;
}

function queryString(query: Partial<HistoryQuery>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}
