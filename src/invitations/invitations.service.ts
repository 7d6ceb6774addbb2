import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/tokens';
import type { InvitationsBody, InvitationView } from '../contract/invitations';
import { AppError } from '../errors/app-error';
import type { Sql, SqlStatement } from '../persistence/sql';
import type { RoomRouter, RoomSummary } from '../rooms/room-router';
import { joinUrlOf, seesLobby } from '../rooms/room-views';
import type { Mailer } from '../mail/mailer';
import type { InvitationEvent, InvitationListener } from './invitation-events';
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
  /** Hears what became of invitations, in the same transactions (the webhooks). */
  listener: InvitationListener;
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
/** No condition: the rows go with the rest of the transaction. */
const always = { sql: '', params: [] };
/** Holds when this change revoked the invitation (it set `revoked_at` to exactly `at`). */
const revokedAt = (id: string, at: Date) => ({ sql: ' and exists (select 1 from invitations v where v.id = ? and v.revoked_at = ?)', params: [id, at] });
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
      const at = new Date(now);
      const expiresAt = new Date(expiryOf(room, now, deps.ttlMs));
      const made = body.invitees.map((invitee) => ({ ...invitee, id: randomUUID(), token: newInvitationToken() }));
      // Inviting an address again replaces its pending invitation (its old link stops working): those are revoked.
      const [pending] = await sql.batch([
        [
          `select ${columns}, ${emailColumns} from invitations i ${latestEmail}
            where i.room_id = ${roomId} and i.status = 'pending' and i.email in (select jsonb_array_elements_text(?::jsonb))`,
          [roomCode, JSON.stringify(made.map((invitee) => invitee.email))],
        ],
      ]);
      const replaced = (pending!.rows as InvitationRow[]).map((row) => toView({ ...row, status: 'revoked' }));
      const statements: SqlStatement[] = made.flatMap((invitee): SqlStatement[] => [
        [
          `update invitations set status = 'revoked', revoked_at = ? where room_id = ${roomId} and email = ? and status = 'pending'`,
          [at, roomCode, invitee.email],
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
              always,
            ),
          ]
        : [];
      const views = made.map((invitee): InvitationView => ({
        id: invitee.id,
        email: invitee.email,
        display_name: invitee.display_name ?? null,
        status: 'pending',
        created_at: at.toISOString(),
        expires_at: expiresAt.toISOString(),
        accepted_at: null,
        invite_url: null,
        email_status: deps.mailer ? 'pending' : null,
        email_error: null,
      }));
      const event = (type: InvitationEvent['type'], invitation: InvitationView): InvitationEvent => ({ type, roomCode, at: now, invitation });
      const heard = [
        ...deps.listener.rows(
          views.map((view) => event('invitation.created', view)),
          always,
        ),
        // Only the ones this request revoked (not one a concurrent request revoked first).
        ...replaced.flatMap((view) => deps.listener.rows([event('invitation.revoked', view)], revokedAt(view.id, at))),
      ];
      await sql.batch([...statements, ...emails, ...heard]);
      deps.mailer?.wake();
      if (heard.length > 0) deps.listener.committed();
      const joinUrl = joinUrlOf(deps.publicBaseUrl(), roomCode);
      return { invitations: views.map((view, index) => ({ ...view, invite_url: inviteUrlOf(joinUrl, made[index]!.token) })) };
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
      const now = Date.now();
      const at = new Date(now);
      const [found] = await sql.batch([
        [`select ${columns}, ${emailColumns} from invitations i ${latestEmail} where i.id = ? and i.room_id = ${roomId}`, [invitationId, roomCode]],
      ]);
      const row = found!.rows[0] as InvitationRow | undefined;
      if (!row) throw new AppError('NOT_FOUND', 'This room has no such invitation');
      // Revoking again answers the same; an accepted invitation may be revoked too (its link stops working).
      if (row.status === 'revoked') return { invitation: toView(row) };
      const view = toView({ ...row, status: 'revoked' });
      const heard = deps.listener.rows([{ type: 'invitation.revoked', roomCode, at: now, invitation: view }], revokedAt(row.id, at));
      await sql.batch([
        [`update invitations set status = 'revoked', revoked_at = ? where id = ? and status in ('pending', 'accepted')`, [at, row.id]],
        ...heard,
      ]);
      if (heard.length > 0) deps.listener.committed();
      return { invitation: view };
    },

    async redeem(userId, roomCode, token) {
      const now = Date.now();
      const at = new Date(now);
      const [found] = await sql.batch([
        [
          `select ${columns}, ${emailColumns} from invitations i ${latestEmail} where i.token_hash = decode(?, 'hex') and i.room_id = ${roomId}`,
          [tokenHashHex(token), roomCode],
        ],
      ]);
      const row = found!.rows[0] as InvitationRow | undefined;
      if (!row) throw new AppError('INVITATION_INVALID');
      // The first acceptance is an event; the same account using the token again is not. Two
      // accounts racing: the row lock orders them, and the second finds it bound to the first.
      const first = row.status === 'pending';
      const view = toView({ ...row, status: 'accepted', accepted_at: at });
      const heard = first
        ? deps.listener.rows([{ type: 'invitation.accepted', roomCode, at: now, invitation: view }], {
            sql: ' and exists (select 1 from invitations a where a.id = ? and a.accepted_by = ? and a.accepted_at = ?)',
            params: [row.id, userId, at],
          })
        : [];
      const [accepted] = await sql.batch([
        [
          `update invitations set status = 'accepted', accepted_by = ?, accepted_at = coalesce(accepted_at, ?)
            where id = ? and expires_at > now() and (status = 'pending' or status = 'accepted' and accepted_by = ?)`,
          [userId, at, row.id, userId],
        ],
        ...heard,
      ]);
      if (accepted!.rowCount !== 1) throw new AppError('INVITATION_INVALID');
      if (heard.length > 0) deps.listener.committed();
    },
  };
}
