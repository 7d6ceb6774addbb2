import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/tokens';
import type { InvitationsBody, InvitationView } from '../contract/schemas';
import { AppError } from '../errors/app-error';
import type { Sql, SqlStatement } from '../persistence/sql';
import type { RoomRouter, RoomSummary } from '../rooms/room-router';
import { joinUrlOf, seesLobby } from '../rooms/room-views';
import type { Mailer } from '../mail/mailer';
import type { InvitationQuota } from './invitation-quota';
import { inviteUrlOf, newInvitationToken, tokenHashHex } from './invitation-token';

/**
 * Invitations (docs/api.md "Invitations"): the host and co-hosts invite people by email; each
 * gets a link whose token lets them past a locked room's lobby. Rows live in PostgreSQL
 * (`invitations`, token hashed); who may invite is the room's own answer (its actor, through
 * the room router), so a co-host's right ends when they leave, on whichever node runs the room.
 */
export interface InvitationsService {
  invite(principal: Principal, roomCode: string, body: InvitationsBody): Promise<{ invitations: InvitationView[] }>;
  list(principal: Principal, roomCode: string): Promise<{ invitations: InvitationView[] }>;
  revoke(principal: Principal, roomCode: string, invitationId: string): Promise<{ invitation: InvitationView }>;
  /**
   * Accepts the token's invitation for `userId` (POST …/join): the first account to use it
   * binds it; that account may use it again, nobody else may. INVITATION_INVALID, with nothing
   * changed, for a token that is unknown, of another room, revoked, expired or bound to someone else.
   */
  redeem(userId: string, roomCode: string, token: string): Promise<void>;
}

export interface InvitationsDeps {
  sql: Sql;
  rooms: RoomRouter;
  publicBaseUrl(): string;
  /** INVITATION_TTL_S: how long an invitation stays good (at least until a day after the meeting's planned end). */
  ttlMs: number;
  quota: InvitationQuota;
  /** Queues each new invitation's email in its transaction; null when SMTP_URL is unset (the links are only in the answer). */
  mailer: Mailer | null;
}

interface InvitationRow {
  id: string;
  email: string;
  display_name: string | null;
  status: InvitationView['status'];
  created_at: Date | string;
  expires_at: Date | string;
  accepted_at: Date | string | null;
  email_status: InvitationView['email_status'];
  email_error: string | null;
}

const iso = (value: Date | string) => new Date(value).toISOString();
const dayMs = 86_400_000;

/** `expired` is a pending invitation past its time, not a stored status. */
const columns = `i.id, i.email, i.display_name, i.created_at, i.expires_at, i.accepted_at,
  case when i.status = 'pending' and i.expires_at <= now() then 'expired' else i.status end as status`;
/** The invitation's own email, as the mail outbox has it (docs/email.md): none without SMTP. */
const emailColumns = `m.status as email_status, m.last_error as email_error`;
const latestEmail = `left join lateral (select status, last_error from mail_outbox o where o.invitation_id = i.id and o.kind = 'invitation'
                                         order by o.seq desc limit 1) m on true`;

const toView = (row: InvitationRow, inviteUrl: string | null = null): InvitationView => ({
  id: row.id,
  email: row.email,
  display_name: row.display_name,
  status: row.status,
  created_at: iso(row.created_at),
  expires_at: iso(row.expires_at),
  accepted_at: row.accepted_at === null ? null : iso(row.accepted_at),
  invite_url: inviteUrl,
  email_status: row.email_status ?? null,
  email_error: row.email_error ?? null,
});

/** When an invitation made at `now` expires: after the TTL, and never before a day after the meeting's planned end (or start). */
function expiryOf(room: RoomSummary, now: number, ttlMs: number): number {
  const planned = room.schedule.endAt ?? room.schedule.startAt;
  return Math.max(now + ttlMs, planned === null ? 0 : planned + dayMs);
}

export function createInvitationsService(deps: InvitationsDeps): InvitationsService {
  const { sql, rooms } = deps;

  /** The room, if `principal` moderates it (its host, or a co-host in it) and it has not ended. */
  async function moderated(principal: Principal, roomCode: string): Promise<RoomSummary> {
    const roster = await rooms.dispatch(roomCode, { type: 'viewParticipants', by: principal.userId }).catch((error: unknown) => {
      throw error instanceof AppError && error.code === 'NOT_A_PARTICIPANT'
        ? new AppError('NOT_HOST', 'Only the host or a co-host may manage invitations')
        : error;
    });
    if (!seesLobby(roster, principal.userId)) throw new AppError('NOT_HOST', 'Only the host or a co-host may manage invitations');
    if (roster.room.status === 'ended') throw new AppError('ROOM_NOT_FOUND', 'The room has ended');
    return roster.room;
  }

  const roomId = `(select id from rooms where room_code = ?)`;

  return {
    async invite(principal, roomCode, body) {
      const room = await moderated(principal, roomCode);
      await deps.quota.take(principal.userId, body.invitees.length);
      const now = Date.now();
      const expiresAt = new Date(expiryOf(room, now, deps.ttlMs));
      const made = body.invitees.map((invitee) => ({ ...invitee, id: randomUUID(), token: newInvitationToken() }));
      // One transaction: inviting an address again replaces its pending invitation (its old link stops working).
      const statements: SqlStatement[] = made.flatMap((invitee): SqlStatement[] => [
        [
          `update invitations set status = 'revoked', revoked_at = now() where room_id = ${roomId} and email = ? and status = 'pending'`,
          [roomCode, invitee.email],
        ],
        [
          `insert into invitations as i (id, room_id, email, display_name, token_hash, status, invited_by, created_at, expires_at)
           select ?, r.id, ?, ?, decode(?, 'hex'), 'pending', ?, ?, ? from rooms r where r.room_code = ?
           returning ${columns}`,
          [invitee.id, invitee.email, invitee.display_name ?? null, tokenHashHex(invitee.token), principal.userId, new Date(now), expiresAt, roomCode],
        ],
      ]);
      const emails = deps.mailer
        ? [
            deps.mailer.invitationEmails(
              made.map((i) => ({ invitationId: i.id, token: i.token })),
              { sql: '', params: [] },
            ),
          ]
        : [];
      const results = await sql.batch([...statements, ...emails]);
      deps.mailer?.wake();
      const joinUrl = joinUrlOf(deps.publicBaseUrl(), roomCode);
      return {
        invitations: made.map((invitee, index) => {
          const row = results[index * 2 + 1]!.rows[0] as InvitationRow;
          return toView({ ...row, email_status: deps.mailer ? 'pending' : null, email_error: null }, inviteUrlOf(joinUrl, invitee.token));
        }),
      };
    },

    async list(principal, roomCode) {
      await moderated(principal, roomCode);
      const [result] = await sql.batch([
        [`select ${columns}, ${emailColumns} from invitations i ${latestEmail} where i.room_id = ${roomId} order by i.created_at, i.email, i.id`, [roomCode]],
      ]);
      return { invitations: (result!.rows as InvitationRow[]).map((row) => toView(row)) };
    },

    async revoke(principal, roomCode, invitationId) {
      await moderated(principal, roomCode);
      // Revoking again answers the same; an accepted invitation may be revoked too (its link stops working).
      const [, result] = await sql.batch([
        [
          `update invitations set status = 'revoked', revoked_at = now() where id = ? and room_id = ${roomId} and status in ('pending', 'accepted')`,
          [invitationId, roomCode],
        ],
        [`select ${columns}, ${emailColumns} from invitations i ${latestEmail} where i.id = ? and i.room_id = ${roomId}`, [invitationId, roomCode]],
      ]);
      const row = result!.rows[0] as InvitationRow | undefined;
      if (!row) throw new AppError('NOT_FOUND', 'This room has no such invitation');
      return { invitation: toView(row) };
    },

    async redeem(userId, roomCode, token) {
      const [result] = await sql.batch([
        [
          `update invitations set status = 'accepted', accepted_by = ?, accepted_at = coalesce(accepted_at, now())
            where token_hash = decode(?, 'hex') and room_id = ${roomId} and expires_at > now()
              and (status = 'pending' or status = 'accepted' and accepted_by = ?)
          returning id`,
          [userId, tokenHashHex(token), roomCode, userId],
        ],
      ]);
      if (result!.rowCount !== 1) throw new AppError('INVITATION_INVALID');
    },
  };
}
