import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { testDatabaseUrl } from '../support/env';
import { createRoom, guestUser, hostUser, liveStateModes, meetings, type Actor } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { registerUser, startServer, type TestServer } from '../support/server';
import { closeSockets, connectSocket, nextEvent, request } from '../support/sockets';

/**
 * docs/api.md "Invitations": the host and co-hosts invite by email; the link's token skips a
 * locked room's lobby (never the cap, a removal or an ended room), lets invitees in when the host
 * starts the meeting, is bound to the first account that uses it, and is stored only hashed.
 */
const tokenOf = (inviteUrl: string) => new URL(inviteUrl).searchParams.get('invitation')!;

describe.each(liveStateModes())('invitations (%s)', (_mode, env) => {
  let server: TestServer;
  let db: Client;

  beforeAll(async () => {
    server = await startServer(env);
    db = new Client({ connectionString: testDatabaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    closeSockets();
    await db?.end();
    await server?.close();
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  const invite = (host: Actor, code: string, invitees: object[]) => meetings(server)(host, 'POST', `/${code}/invitations`, { invitees });
  const join = (actor: Actor, code: string, token?: string) =>
    meetings(server)(actor, 'POST', `/${code}/join`, token === undefined ? {} : { invitation_token: token });
  /** A room the host has started and locked: strangers wait in the lobby. */
  async function lockedRoom(host: Actor, settings: object = {}) {
    const room = await createRoom(server, host, { name: 'Board', settings: { lock_room: true, ...settings } });
    expect((await join(host, room.room_code)).body.status).toBe('joined');
    return room.room_code;
  }

  it('the host invites people: each gets a link with its own token, which PostgreSQL keeps only hashed', async () => {
    const host = await hostUser(server, 'Hana');
    const code = await lockedRoom(host);
    const response = await invite(host, code, [{ email: 'Ann@Example.org', display_name: 'Ann' }, { email: 'bob@example.org' }]);
    expect(response.status).toBe(201);
    const [ann, bob] = response.body.invitations;
    expect(ann).toEqual({
      id: expect.any(String),
      email: 'ann@example.org',
      display_name: 'Ann',
      status: 'pending',
      created_at: expect.any(String),
      expires_at: expect.any(String),
      accepted_at: null,
      invite_url: expect.stringMatching(new RegExp(`^${server.url.replace('127.0.0.1', 'localhost')}/join/${code}\\?invitation=[A-Za-z0-9_-]{32}$`)), // No SMTP_URL: the links are only in this answer, nothing is emailed.
      email_status: null,
      email_error: null,
    });
    expect(bob).toMatchObject({ email: 'bob@example.org', display_name: null });
    expect(tokenOf(ann.invite_url)).not.toBe(tokenOf(bob.invite_url));
    // A week by default.
    expect(Date.parse(ann.expires_at) - Date.parse(ann.created_at)).toBe(7 * 86_400_000);

    const rows = await db.query('select * from invitations where id = any($1) order by email', [[ann.id, bob.id]]);
    expect(rows.rows[0].token_hash).toEqual(createHash('sha256').update(tokenOf(ann.invite_url)).digest());
    expect(JSON.stringify(rows.rows)).not.toContain(tokenOf(ann.invite_url));

    // The list shows every invitation, without links (the server cannot rebuild them).
    const list = await meetings(server)(host, 'GET', `/${code}/invitations`);
    expect(list.body.invitations).toEqual([
      { ...ann, invite_url: null },
      { ...bob, invite_url: null },
    ]);
  });

  it("a valid token skips a locked room's lobby; the token is then bound to that account", async () => {
    const host = await hostUser(server, 'Hugo');
    const code = await lockedRoom(host);
    const [invitation] = (await invite(host, code, [{ email: 'cat@example.org' }])).body.invitations;
    const token = tokenOf(invitation.invite_url);

    const stranger = await guestUser(server, 'Stranger');
    expect((await join(stranger, code)).body.status).toBe('waiting');
    const cat = await guestUser(server, 'Cat');
    const joined = await join(cat, code, token);
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({ status: 'joined', participant: { user_id: cat.userId, role: 'guest' } });
    // The same account may use it again (a retry); anyone else is refused and nothing changes.
    expect((await join(cat, code, token)).body.status).toBe('joined');
    const thief = await guestUser(server, 'Thief');
    const stolen = await join(thief, code, token);
    expect(stolen.status).toBe(403);
    expect(stolen.body.code).toBe('INVITATION_INVALID');
    const roster = (await meetings(server)(host, 'GET', `/${code}/participants`)).body;
    expect(roster.participants.map((p: { user_id: string }) => p.user_id)).not.toContain(thief.userId);
    expect(roster.lobby.map((w: { user_id: string }) => w.user_id)).toEqual([stranger.userId]);

    const listed = (await meetings(server)(host, 'GET', `/${code}/invitations`)).body.invitations[0];
    expect(listed).toMatchObject({ status: 'accepted', accepted_at: expect.any(String) });
    expect((await db.query('select accepted_by from invitations where id = $1', [invitation.id])).rows[0].accepted_by).toBe(cat.userId);
  });

  it('a token that is unknown, of another room, revoked or expired is 403 INVITATION_INVALID, and nothing changes', async () => {
    const host = await hostUser(server, 'Ines');
    const code = await lockedRoom(host);
    const other = await lockedRoom(host);
    const made = (await invite(host, code, [{ email: 'a@example.org' }, { email: 'b@example.org' }, { email: 'c@example.org' }])).body.invitations;
    const [forOtherRoom, revoked, expired] = made.map((i: { invite_url: string }) => tokenOf(i.invite_url));
    expect((await meetings(server)(host, 'DELETE', `/${code}/invitations/${made[1].id}`)).body.invitation.status).toBe('revoked');
    await db.query("update invitations set expires_at = now() - interval '1 second' where id = $1", [made[2].id]);
    const listed = (await meetings(server)(host, 'GET', `/${code}/invitations`)).body.invitations;
    expect(listed.map((i: { email: string; status: string }) => [i.email, i.status])).toEqual([
      ['a@example.org', 'pending'],
      ['b@example.org', 'revoked'],
      ['c@example.org', 'expired'],
    ]);

    for (const [room, token] of [
      [code, 'not-a-token'],
      [other, forOtherRoom],
      [code, revoked],
      [code, expired],
    ] as const) {
      const guest = await guestUser(server, 'Guest');
      const response = await join(guest, room, token);
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 403, code: 'INVITATION_INVALID' });
      expect((await meetings(server)(host, 'GET', `/${room}/participants`)).body.lobby).toEqual([]);
    }
    // The token for the other room is still good in its own room.
    expect((await join(await guestUser(server, 'A'), code, forOtherRoom)).body.status).toBe('joined');
  });

  it('never the cap, a removal or an ended room', async () => {
    const host = await hostUser(server, 'Jon');
    const code = await lockedRoom(host, { max_participants: 2 });
    const invitations = (await invite(host, code, [{ email: 'x@example.org' }, { email: 'y@example.org' }, { email: 'z@example.org' }])).body.invitations;
    const [x, y, z] = invitations.map((i: { invite_url: string }) => tokenOf(i.invite_url));
    const first = await guestUser(server, 'First');
    const second = await guestUser(server, 'Second');
    expect((await join(first, code, x)).body.status).toBe('joined');
    expect((await join(second, code, y)).body.status).toBe('joined');
    const third = await guestUser(server, 'Third');
    expect((await join(third, code, z)).body.code).toBe('ROOM_FULL');

    expect((await meetings(server)(host, 'POST', `/${code}/remove/${first.userId}`)).status).toBe(200);
    expect((await join(first, code, x)).body.code).toBe('REMOVED_FROM_ROOM');
    expect((await meetings(server)(host, 'POST', `/${code}/end`)).status).toBe(200);
    expect((await join(second, code, y)).status).toBe(404);
  });

  it('before the host starts, invitees wait like everyone; when the host starts a locked room, only they come in', async () => {
    const host = await hostUser(server, 'Kim');
    const room = await createRoom(server, host, { name: 'Locked plan', settings: { lock_room: true } });
    const code = room.room_code;
    const [invitation] = (await invite(host, code, [{ email: 'dee@example.org' }])).body.invitations;
    const dee = await guestUser(server, 'Dee');
    const eve = await guestUser(server, 'Eve');
    expect((await join(dee, code, tokenOf(invitation.invite_url))).body.status).toBe('waiting');
    expect((await join(eve, code)).body.status).toBe('waiting');
    const socket = await connectSocket(server, dee.token);
    expect((await request(socket, 'room:attach', { room_code: code })).ok).toBe(true);
    const admitted = nextEvent(socket, 'lobby:admitted');

    const lobby = (await meetings(server)(host, 'GET', `/${code}/participants`)).body.lobby;
    expect(lobby.map((w: { user_id: string; invited: boolean }) => [w.user_id, w.invited])).toEqual([
      [dee.userId, true],
      [eve.userId, false],
    ]);
    expect((await join(host, code)).body.status).toBe('joined');
    expect(await admitted).toEqual({ room_code: code });
    const roster = (await meetings(server)(host, 'GET', `/${code}/participants`)).body;
    expect(roster.participants.map((p: { user_id: string }) => p.user_id).sort()).toEqual([host.userId, dee.userId].sort());
    expect(roster.lobby.map((w: { user_id: string }) => w.user_id)).toEqual([eve.userId]);
  });

  it('who may manage invitations: the host and co-hosts in the room; revoking is idempotent; inviting again replaces', async () => {
    const api = meetings(server);
    const host = await hostUser(server, 'Lea');
    const code = await lockedRoom(host);
    const [invitation] = (await invite(host, code, [{ email: 'co@example.org' }])).body.invitations;
    const co = await guestUser(server, 'Co');
    expect((await join(co, code, tokenOf(invitation.invite_url))).body.status).toBe('joined');
    // A guest in the room and a stranger may not.
    expect((await invite(co, code, [{ email: 'n@example.org' }])).body.code).toBe('NOT_HOST');
    expect((await api(await guestUser(server, 'Out'), 'GET', `/${code}/invitations`)).body.code).toBe('NOT_HOST');
    expect((await api(host, 'POST', `/${code}/co-hosts/${co.userId}`)).status).toBe(200);
    expect((await invite(co, code, [{ email: 'n@example.org' }])).status).toBe(201);

    // Inviting an address again replaces its pending invitation: the old link stops working.
    const again = (await invite(host, code, [{ email: 'n@example.org' }])).body.invitations[0];
    const statuses = (await api(host, 'GET', `/${code}/invitations`)).body.invitations.map((i: { email: string; status: string }) => [i.email, i.status]);
    expect(statuses).toEqual([
      ['co@example.org', 'accepted'],
      ['n@example.org', 'revoked'],
      ['n@example.org', 'pending'],
    ]);
    const first = await api(host, 'DELETE', `/${code}/invitations/${again.id}`);
    expect(first.body.invitation).toMatchObject({ id: again.id, status: 'revoked' });
    expect((await api(host, 'DELETE', `/${code}/invitations/${again.id}`)).body).toEqual(first.body);
    expect((await api(host, 'DELETE', `/${code}/invitations/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await api(host, 'DELETE', `/${code}/invitations/nope`)).status).toBe(400);
  });

  it.each([
    ['no invitees', { invitees: [] }],
    ['a bad email', { invitees: [{ email: 'not an email' }] }],
    ['the same email twice', { invitees: [{ email: 'a@example.org' }, { email: 'A@example.org' }] }],
    ['an unknown field', { invitees: [{ email: 'a@example.org', role: 'host' }] }],
  ])('refuses %s with VALIDATION_FAILED', async (_name, body) => {
    const host = await hostUser(server, 'Max');
    const code = await lockedRoom(host);
    const response = await meetings(server)(host, 'POST', `/${code}/invitations`, body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect((await db.query('select count(*)::int as n from invitations i join rooms r on r.id = i.room_id where r.room_code = $1', [code])).rows[0].n).toBe(0);
  });

  it('an invited account sees the scheduled meeting in its upcoming list', async () => {
    const host = await hostUser(server, 'Nia');
    const start = new Date(Date.now() + 86_400_000).toISOString();
    const room = await createRoom(server, host, { name: 'Offsite', scheduled_start_at: start });
    const session = await registerUser(server, { display_name: 'Olli' });
    const olli: Actor = { token: session.access_token, userId: session.user.id, name: 'Olli' };
    expect((await meetings(server)(olli, 'GET', '/upcoming')).body.items).toEqual([]);
    const [invitation] = (await invite(host, room.room_code, [{ email: session.credentials.email }])).body.invitations;
    // Invited by address, then by account once accepted; a day past the planned start at least.
    expect(Date.parse(invitation.expires_at)).toBeGreaterThanOrEqual(Date.parse(start) + 86_400_000 - 1_000);
    const upcoming = (await meetings(server)(olli, 'GET', '/upcoming')).body.items;
    expect(upcoming).toEqual([expect.objectContaining({ room_code: room.room_code, role: 'invitee', scheduled_start_at: start })]);
    expect((await join(olli, room.room_code, tokenOf(invitation.invite_url))).body.status).toBe('waiting');
    expect((await meetings(server)(olli, 'GET', '/upcoming')).body.items).toEqual(upcoming);
  });
});

describe('invitation quota', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ INVITATIONS_PER_HOUR: '3' });
  });
  afterAll(async () => server?.close());

  it('an account may invite INVITATIONS_PER_HOUR people an hour; a refused request invites nobody', async () => {
    const api = meetings(server);
    const host = await hostUser(server, 'Pat');
    const { room_code } = await createRoom(server, host);
    const batch = (n: number, from: number) => ({ invitees: Array.from({ length: n }, (_, i) => ({ email: `p${from + i}@example.org` })) });
    expect((await api(host, 'POST', `/${room_code}/invitations`, batch(2, 0))).status).toBe(201);
    const refused = await api(host, 'POST', `/${room_code}/invitations`, batch(2, 2));
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('RATE_LIMITED');
    expect((await api(host, 'GET', `/${room_code}/invitations`)).body.invitations).toHaveLength(2);
    // What was refused was not counted: one more still fits.
    expect((await api(host, 'POST', `/${room_code}/invitations`, batch(1, 4))).status).toBe(201);
  });
});
