import { createRoom, guestUser, hostUser, liveStateModes, meetings, type Actor } from '../support/meetings';
import { deleteRedisPrefix } from '../support/redis';
import { startServer, type TestServer } from '../support/server';

/** The meetings API of docs/api.md "Meetings" over HTTP, against real PostgreSQL, in both live-state modes. */
describe.each(liveStateModes())('meetings API (%s)', (_mode, env) => {
  let server: TestServer;
  let api: ReturnType<typeof meetings>;

  beforeAll(async () => {
    server = await startServer({ ...env, MAX_PARTICIPANTS_LIMIT: '500' });
    api = meetings(server);
  });
  afterAll(async () => {
    await server?.close();
    if (env.REDIS_PREFIX) await deleteRedisPrefix(env.REDIS_PREFIX);
  });

  describe('the whole lifecycle', () => {
    it('create → lobby → start → lock → admit/reject → leave → end → history', async () => {
      const host = await hostUser(server, 'Hana Host');
      const ann = await guestUser(server, 'Ann');
      const bob = await guestUser(server, 'Bob');
      const cat = await guestUser(server, 'Cat');

      const created = await createRoom(server, host, { name: '  Design review ', settings: { max_participants: 10 } });
      expect(created).toEqual({
        room_code: expect.stringMatching(/^[A-Za-z0-9_-]{12}$/),
        name: 'Design review',
        status: 'pending',
        host_id: host.userId,
        settings: { lock_room: false, enable_transcription: false, max_participants: 10 },
        created_at: expect.any(String),
        started_at: null,
        ended_at: null,
        scheduled_start_at: null,
        scheduled_end_at: null,
        participant_count: 0,
        // PUBLIC_BASE_URL unset: the link follows the port this server listens on (a random one here).
        join_url: `http://localhost:${new URL(server.url).port}/join/${created.room_code}`,
        lobby_count: 0,
      });
      const code = created.room_code;

      // Before the host arrives, everyone waits.
      const early = await api(ann, 'POST', `/${code}/join`, { language: 'en-GB', hardware_ready: true });
      expect(early.status).toBe(200);
      expect(early.body.status).toBe('waiting');
      expect(early.body.participant).toBeUndefined();
      expect(early.body.room.lobby_count).toBeUndefined(); // only the host sees the lobby

      const hostView = await api(host, 'GET', `/${code}`);
      expect(hostView.body).toMatchObject({ status: 'pending', lobby_count: 1, participant_count: 0 });
      expect((await api(ann, 'GET', `/${code}`)).body.lobby_count).toBeUndefined();

      // The host starts the room and the lobby comes in with them.
      const start = await api(host, 'POST', `/${code}/join`);
      expect(start.status).toBe(200);
      expect(start.body).toMatchObject({ status: 'joined', room: { status: 'active', participant_count: 2, lobby_count: 0 } });
      expect(start.body.participant).toMatchObject({ user_id: host.userId, display_name: 'Hana Host', role: 'host', status: 'disconnected' });
      expect(start.body.room.started_at).toEqual(expect.any(String));

      const list = await api(ann, 'GET', `/${code}/participants`);
      expect(list.status).toBe(200);
      expect(list.body.lobby).toBeUndefined();
      expect(list.body.participants).toEqual(
        expect.arrayContaining([
          {
            user_id: ann.userId,
            display_name: 'Ann',
            role: 'guest',
            status: 'disconnected',
            language: 'en-GB',
            hardware_ready: true,
            joined_at: expect.any(String),
            // Nothing said about the call yet.
            media: null,
          },
        ]),
      );

      // Locked: newcomers wait; the host sees them and decides.
      expect((await api(host, 'PATCH', `/${code}/config`, { lock_room: true })).body).toEqual({
        settings: { lock_room: true, enable_transcription: false, max_participants: 10 },
        scheduled_start_at: null,
        scheduled_end_at: null,
      });
      expect((await api(bob, 'POST', `/${code}/join`)).body.status).toBe('waiting');
      expect((await api(cat, 'POST', `/${code}/join`)).body.status).toBe('waiting');
      const withLobby = await api(host, 'GET', `/${code}/participants`);
      expect(withLobby.body.lobby.map((entry: { user_id: string }) => entry.user_id)).toEqual([bob.userId, cat.userId]);
      expect(withLobby.body.lobby[0]).toEqual({
        user_id: bob.userId,
        display_name: 'Bob',
        language: null,
        hardware_ready: false,
        waiting_since: expect.any(String),
        invited: false,
      });
      expect((await api(bob, 'GET', `/${code}/participants`)).body.code).toBe('NOT_A_PARTICIPANT');

      const admitted = await api(host, 'POST', `/${code}/admit/${bob.userId}`);
      expect(admitted.status).toBe(200);
      expect(admitted.body).toMatchObject({ status: 'admitted', participant: { user_id: bob.userId, role: 'guest' } });
      expect((await api(host, 'POST', `/${code}/reject/${cat.userId}`)).body).toEqual({ status: 'rejected' });
      // A rejected user may ask again, and leave the lobby by themselves.
      expect((await api(cat, 'POST', `/${code}/join`)).body.status).toBe('waiting');
      expect((await api(cat, 'POST', `/${code}/leave`)).body).toEqual({ status: 'left' });
      expect((await api(host, 'GET', `/${code}`)).body).toMatchObject({ participant_count: 3, lobby_count: 0 });

      expect((await api(bob, 'POST', `/${code}/leave`)).body).toEqual({ status: 'left' });
      expect((await api(bob, 'POST', `/${code}/leave`)).body).toEqual({ status: 'left' }); // idempotent

      const ended = await api(host, 'POST', `/${code}/end`);
      expect(ended.status).toBe(200);
      expect(ended.body).toMatchObject({ room_code: code, status: 'ended', participant_count: 0, ended_at: expect.any(String) });
      const again = await api(host, 'POST', `/${code}/end`);
      expect(again.body.ended_at).toBe(ended.body.ended_at);
      expect((await api(ann, 'GET', `/${code}`)).body).toMatchObject({ status: 'ended', ended_at: ended.body.ended_at });

      // History: the host hosted it; Ann and Bob attended it (Cat never got in).
      const hosted = await api(host, 'GET', '/history');
      expect(hosted.status).toBe(200);
      expect(hosted.body.items[0]).toEqual({
        room_code: code,
        name: 'Design review',
        role: 'host',
        created_at: created.created_at,
        started_at: start.body.room.started_at,
        ended_at: ended.body.ended_at,
        duration_seconds: expect.any(Number),
        participant_count: 3,
      });
      expect((await api(ann, 'GET', '/history')).body.items).toEqual([]);
      expect((await api(ann, 'GET', '/history?role=participant')).body.items).toEqual([expect.objectContaining({ room_code: code, role: 'guest' })]);
      expect((await api(bob, 'GET', '/history?role=all')).body.items.map((i: { room_code: string }) => i.room_code)).toEqual([code]);
      expect((await api(cat, 'GET', '/history?role=all')).body.items).toEqual([]);
    });
  });

  describe('joining', () => {
    it('is idempotent: a second join changes nothing and returns the same attendance', async () => {
      const host = await hostUser(server);
      const ann = await guestUser(server);
      const { room_code } = await createRoom(server, host);
      await api(host, 'POST', `/${room_code}/join`);
      const first = await api(ann, 'POST', `/${room_code}/join`);
      const second = await api(ann, 'POST', `/${room_code}/join`);
      expect(second.body.participant.joined_at).toBe(first.body.participant.joined_at);
      expect((await api(host, 'GET', `/${room_code}`)).body.participant_count).toBe(2);
    });

    it('the cap counts everyone but the host: ROOM_FULL on join and on admit', async () => {
      const host = await hostUser(server);
      const guests = await Promise.all([1, 2, 3].map((n) => guestUser(server, `G${n}`)));
      const { room_code } = await createRoom(server, host, { name: 'Tiny', settings: { max_participants: 2 } });
      await api(host, 'POST', `/${room_code}/join`);
      expect((await api(guests[0]!, 'POST', `/${room_code}/join`)).body.status).toBe('joined');
      expect((await api(guests[1]!, 'POST', `/${room_code}/join`)).body.status).toBe('joined');
      const full = await api(guests[2]!, 'POST', `/${room_code}/join`);
      expect(full.status).toBe(409);
      expect(full.body.code).toBe('ROOM_FULL');

      await api(host, 'PATCH', `/${room_code}/config`, { lock_room: true });
      expect((await api(guests[2]!, 'POST', `/${room_code}/join`)).body.status).toBe('waiting');
      const admit = await api(host, 'POST', `/${room_code}/admit/${guests[2]!.userId}`);
      expect(admit.status).toBe(409);
      expect(admit.body.code).toBe('ROOM_FULL');
      // The host leaving and coming back is never blocked by the cap.
      await api(host, 'POST', `/${room_code}/leave`);
      expect((await api(host, 'POST', `/${room_code}/join`)).body.status).toBe('joined');
    });

    it('turning lock_room off admits the lobby; admit-all reports who came in and who still waits', async () => {
      const host = await hostUser(server);
      const guests = await Promise.all([1, 2, 3, 4].map((n) => guestUser(server, `W${n}`)));
      const { room_code } = await createRoom(server, host, { name: 'Locked', settings: { lock_room: true, max_participants: 2 } });
      await api(host, 'POST', `/${room_code}/join`);
      for (const guest of guests.slice(0, 3)) await api(guest, 'POST', `/${room_code}/join`);
      const allIn = await api(host, 'POST', `/${room_code}/admit-all`);
      expect(allIn.body).toEqual({ admitted: [guests[0]!.userId, guests[1]!.userId], waiting: [guests[2]!.userId] });

      await api(guests[0]!, 'POST', `/${room_code}/leave`);
      await api(guests[3]!, 'POST', `/${room_code}/join`);
      await api(host, 'PATCH', `/${room_code}/config`, { lock_room: false });
      const after = await api(host, 'GET', `/${room_code}/participants`);
      const ids = after.body.participants.map((p: { user_id: string }) => p.user_id);
      expect(ids).toEqual(expect.arrayContaining([guests[1]!.userId, guests[2]!.userId]));
      expect(after.body.lobby.map((w: { user_id: string }) => w.user_id)).toEqual([guests[3]!.userId]);
    });

    it('a removed user may not rejoin; a rejected one may', async () => {
      const host = await hostUser(server);
      const ann = await guestUser(server);
      const { room_code } = await createRoom(server, host);
      await api(host, 'POST', `/${room_code}/join`);
      await api(ann, 'POST', `/${room_code}/join`);
      expect((await api(host, 'POST', `/${room_code}/remove/${ann.userId}`)).body).toEqual({ status: 'removed' });
      const again = await api(ann, 'POST', `/${room_code}/join`);
      expect(again.status).toBe(403);
      expect(again.body.code).toBe('REMOVED_FROM_ROOM');
    });
  });

  describe('errors', () => {
    let host: Actor;
    let other: Actor;
    let guest: Actor;
    let code: string;
    const missing = 'AAAAAAAAAAAA';

    beforeAll(async () => {
      host = await hostUser(server);
      other = await hostUser(server, 'Other');
      guest = await guestUser(server);
      code = (await createRoom(server, host)).room_code;
      await api(host, 'POST', `/${code}/join`);
    });

    const expectProblem = (response: { status: number; body: { code: string } }, status: number, errorCode: string) => {
      expect({ status: response.status, code: response.body.code }).toEqual({ status, code: errorCode });
    };

    it('401 UNAUTHENTICATED without a token, on every route', async () => {
      for (const [method, path] of [
        ['POST', ''],
        ['GET', '/history'],
        ['GET', `/${code}`],
        ['GET', `/${code}/participants`],
        ['POST', `/${code}/join`],
        ['POST', `/${code}/admit-all`],
        ['POST', `/${code}/leave`],
        ['POST', `/${code}/end`],
        ['PATCH', `/${code}/config`],
      ] as const) {
        expectProblem(await server.request(method, `/api/v1/meetings${path}`), 401, 'UNAUTHENTICATED');
      }
    });

    it('403 GUESTS_CANNOT_HOST', async () => {
      expectProblem(await api(guest, 'POST', '', { name: 'Mine' }), 403, 'GUESTS_CANNOT_HOST');
    });

    it('400 VALIDATION_FAILED on bad create and config bodies, with every bad field named', async () => {
      const bad = await api(host, 'POST', '', { name: '', settings: { max_participants: 1, lock_room: 'yes', colour: 'red' }, extra: 1 });
      expectProblem(bad, 400, 'VALIDATION_FAILED');
      expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
        'extra',
        'name',
        'settings.colour',
        'settings.lock_room',
        'settings.max_participants',
      ]);
      const tooBig = await api(host, 'POST', '', { name: 'Big', settings: { max_participants: 501 } });
      expect(tooBig.body.errors).toEqual([{ path: 'settings.max_participants', message: 'must be at most 500' }]);
      expectProblem(await api(host, 'POST', '', {}), 400, 'VALIDATION_FAILED');
      expectProblem(await api(host, 'PATCH', `/${code}/config`, { max_participants: 1.5 }), 400, 'VALIDATION_FAILED');
      expectProblem(await api(host, 'PATCH', `/${code}/config`, { name: 'x' }), 400, 'VALIDATION_FAILED');
      expectProblem(await api(host, 'POST', `/${code}/join`, { language: 'not a language!' }), 400, 'VALIDATION_FAILED');
      expectProblem(await api(host, 'POST', `/${code}/leave`, { why: 'bored' }), 400, 'VALIDATION_FAILED');
      expectProblem(await api(host, 'POST', `/${code}/admit/not-a-uuid`), 400, 'VALIDATION_FAILED');
    });

    it('404 ROOM_NOT_FOUND for a missing room, and for a malformed code', async () => {
      for (const path of [`/${missing}`, `/${missing}/participants`, '/short', '/has%20space!!', '/' + 'x'.repeat(13)]) {
        expectProblem(await api(host, 'GET', path), 404, 'ROOM_NOT_FOUND');
      }
      for (const action of ['join', 'leave', 'end', 'admit-all', `admit/${guest.userId}`, `reject/${guest.userId}`, `remove/${guest.userId}`]) {
        expectProblem(await api(host, 'POST', `/${missing}/${action}`), 404, 'ROOM_NOT_FOUND');
      }
      expectProblem(await api(host, 'PATCH', `/${missing}/config`, { lock_room: true }), 404, 'ROOM_NOT_FOUND');
    });

    it('403 NOT_HOST for every host-only action', async () => {
      await api(guest, 'POST', `/${code}/join`);
      for (const action of [
        'admit-all',
        'reject-all',
        'mute-all',
        'end',
        `admit/${guest.userId}`,
        `reject/${guest.userId}`,
        `remove/${guest.userId}`,
        `mute/${guest.userId}`,
      ]) {
        expectProblem(await api(other, 'POST', `/${code}/${action}`), 403, 'NOT_HOST');
        expectProblem(await api(guest, 'POST', `/${code}/${action}`), 403, 'NOT_HOST');
      }
      for (const method of ['POST', 'DELETE']) expectProblem(await api(guest, method, `/${code}/co-hosts/${guest.userId}`), 403, 'NOT_HOST');
      expectProblem(await api(guest, 'PATCH', `/${code}/config`, { lock_room: true }), 403, 'NOT_HOST');
    });

    it('409 NOT_IN_LOBBY, 409 NOT_A_PARTICIPANT, 403 NOT_A_PARTICIPANT', async () => {
      expectProblem(await api(host, 'POST', `/${code}/admit/${other.userId}`), 409, 'NOT_IN_LOBBY');
      expectProblem(await api(host, 'POST', `/${code}/reject/${other.userId}`), 409, 'NOT_IN_LOBBY');
      expectProblem(await api(host, 'POST', `/${code}/remove/${other.userId}`), 409, 'NOT_A_PARTICIPANT');
      expectProblem(await api(host, 'POST', `/${code}/mute/${other.userId}`), 409, 'NOT_A_PARTICIPANT');
      expectProblem(await api(other, 'GET', `/${code}/participants`), 403, 'NOT_A_PARTICIPANT');
      expect((await api(other, 'POST', `/${code}/leave`)).body).toEqual({ status: 'left' }); // not present: still fine
    });

    it('an ended room: details still answer; join, config and leave are 404', async () => {
      const room = await createRoom(server, host);
      const ann = await guestUser(server, 'Ann');
      await api(host, 'POST', `/${room.room_code}/join`);
      expect((await api(ann, 'POST', `/${room.room_code}/join`)).body.status).toBe('joined');
      await api(host, 'POST', `/${room.room_code}/end`);
      expect((await api(guest, 'GET', `/${room.room_code}`)).body.status).toBe('ended');
      expectProblem(await api(guest, 'POST', `/${room.room_code}/join`), 404, 'ROOM_NOT_FOUND');
      expectProblem(await api(host, 'POST', `/${room.room_code}/join`), 404, 'ROOM_NOT_FOUND');
      expectProblem(await api(host, 'PATCH', `/${room.room_code}/config`, { lock_room: true }), 404, 'ROOM_NOT_FOUND');
      expectProblem(await api(guest, 'POST', `/${room.room_code}/end`), 403, 'NOT_HOST');
      expectProblem(await api(host, 'POST', `/${room.room_code}/reject-all`), 404, 'ROOM_NOT_FOUND');
      expectProblem(await api(host, 'POST', `/${room.room_code}/mute-all`), 404, 'ROOM_NOT_FOUND');
      // Leaving it is 404 for everyone: the host, someone who was in it, and someone who never was.
      for (const who of [host, ann, guest]) expectProblem(await api(who, 'POST', `/${room.room_code}/leave`), 404, 'ROOM_NOT_FOUND');
    });
  });

  describe('history', () => {
    it('pages newest first with an opaque cursor, and rejects bad parameters', async () => {
      const host = await hostUser(server);
      const codes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { room_code } = await createRoom(server, host, { name: `Room ${i}` });
        await api(host, 'POST', `/${room_code}/join`);
        await api(host, 'POST', `/${room_code}/end`);
        codes.push(room_code);
      }
      // A room that has not ended is not history.
      await createRoom(server, host, { name: 'Still pending' });

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `/history?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await api(host, 'GET', query);
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((i: { room_code: string }) => i.room_code));
        cursor = page.body.next_cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...codes].reverse());

      for (const query of ['limit=0', 'limit=101', 'limit=abc', 'role=owner', 'cursor=bm90LWEtY3Vyc29y']) {
        const bad = await api(host, 'GET', `/history?${query}`);
        expect({ query, status: bad.status, code: bad.body.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
      }
    });
  });
});
