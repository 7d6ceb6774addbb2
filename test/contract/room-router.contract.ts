import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { AppError } from '../../src/errors/app-error';
import type { NoticePublisher, RoomRouter } from '../../src/rooms/room-router';
import type { RoomNotice } from '../../src/rooms/room.types';
import { waitFor } from '../support/db';

/** What a router under test is built from: the publisher it must call and its room timings. */
export interface RouterOptions {
  publish: NoticePublisher;
  emptyRoomTimeoutMs: number;
}

/** The routers under test. `entry` is where commands come in; the rest share its rooms (other nodes). */
export interface RouterHandle {
  routers: RoomRouter[];
  close(): Promise<void>;
}

const settings = { lock_room: false, enable_transcription: false, max_participants: 3 };
const unscheduled = { startAt: null, endAt: null };
const randomRoomCode = () => randomBytes(9).toString('base64url');
const join = (userId: string) => ({ type: 'join' as const, userId, displayName: userId.slice(0, 8), language: null, hardwareReady: false });

/**
 * What every RoomRouter must do (src/rooms/room-router.ts), run once per implementation: the
 * in-process one, and the Redis one with commands entering on two nodes. Real PostgreSQL, real
 * Redis where the router uses it.
 */
export function roomRouterContract(name: string, db: () => Client, open: (options: RouterOptions) => Promise<RouterHandle>) {
  describe(`room router contract: ${name}`, () => {
    let handle: RouterHandle;
    /** Every notice published, by room, in the order the publisher got them. */
    const published = new Map<string, RoomNotice[]>();
    const noticesOf = (roomCode: string) => published.get(roomCode) ?? [];

    beforeAll(async () => {
      handle = await open({
        publish: (roomCode, notices) => published.set(roomCode, [...noticesOf(roomCode), ...notices]),
        emptyRoomTimeoutMs: 300,
      });
    });
    afterAll(async () => handle.close());

    /** A user row (rooms reference their host) and a new room hosted by them, created through `router`. */
    async function newRoom(router = handle.routers[0]!, overrides: Partial<typeof settings> = {}) {
      const hostId = randomUUID();
      await db().query("insert into users (id, email, display_name, is_guest, created_at) values ($1, null, 'Host', true, now())", [hostId]);
      const roomCode = randomRoomCode();
      const created = await router.create({
        id: randomUUID(),
        roomCode,
        hostId,
        name: 'Contract',
        settings: { ...settings, ...overrides },
        schedule: unscheduled,
        createdAt: Date.now(),
      });
      expect(created).toBe(true);
      return { roomCode, hostId };
    }
    /** Each router in turn, so a suite with several nodes sends commands through all of them. */
    const via = (i: number) => handle.routers[i % handle.routers.length]!;

    it('creates a room once: the same code again is taken', async () => {
      const { roomCode, hostId } = await newRoom();
      const again = await via(1).create({ id: randomUUID(), roomCode, hostId, name: 'Twin', settings, schedule: unscheduled, createdAt: Date.now() });
      expect(again).toBe(false);
      const reply = await via(1).dispatch(roomCode, { type: 'inspect' });
      expect(reply.room).toMatchObject({ roomCode, name: 'Contract', status: 'pending', participantCount: 0 });
    });

    it('answers an unknown room with ROOM_NOT_FOUND', async () => {
      const refused = await via(1)
        .dispatch(randomRoomCode(), { type: 'inspect' })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ code: 'ROOM_NOT_FOUND', status: 404 });
    });

    it('runs a meeting through any router: replies, refusals and notices in command order', async () => {
      const { roomCode, hostId } = await newRoom();
      const started = await via(1).dispatch(roomCode, join(hostId));
      expect(started).toMatchObject({ joined: true, room: { status: 'active', participantCount: 1 } });
      const guest = randomUUID();
      await db().query("insert into users (id, email, display_name, is_guest, created_at) values ($1, null, 'G', true, now())", [guest]);
      await via(0).dispatch(roomCode, { type: 'configure', by: hostId, settings: { lock_room: true } });
      const waiting = await via(1).dispatch(roomCode, join(guest));
      expect(waiting).toMatchObject({ joined: false, participant: null, room: { lobbyCount: 1 } });
      const notHost = await via(0)
        .dispatch(roomCode, { type: 'admit', by: guest, userId: guest })
        .catch((e: unknown) => e);
      expect(notHost).toMatchObject({ code: 'NOT_HOST', status: 403 });
      const admitted = await via(0).dispatch(roomCode, { type: 'admit', by: hostId, userId: guest });
      expect(admitted.participant).toMatchObject({ userId: guest, role: 'guest' });
      await via(1).dispatch(roomCode, { type: 'end', by: hostId });
      await waitFor(async () => noticesOf(roomCode).some((n) => n.type === 'room:ended'));
      expect(
        noticesOf(roomCode)
          .map((n) => n.type)
          .filter((t) => !t.startsWith('channel:')),
      ).toEqual([
        'room:updated', // started
        'participant:joined', // the host
        'room:updated', // locked
        'lobby:waiting',
        'lobby:entered',
        'lobby:admitted',
        'participant:joined',
        'room:ended',
      ]);
      const { rows } = await db().query('select status from rooms where room_code = $1', [roomCode]);
      expect(rows).toEqual([{ status: 'ended' }]);
    });

    it('runs concurrent commands for one room one at a time: the cap holds exactly', async () => {
      const { roomCode, hostId } = await newRoom(via(0), { max_participants: 3 });
      await via(0).dispatch(roomCode, join(hostId));
      const guests = Array.from({ length: 12 }, () => randomUUID());
      for (const guest of guests)
        await db().query("insert into users (id, email, display_name, is_guest, created_at) values ($1, null, 'G', true, now())", [guest]);
      const outcomes = await Promise.allSettled(guests.map((guest, i) => via(i).dispatch(roomCode, join(guest))));
      const joined = outcomes.filter((o) => o.status === 'fulfilled');
      const full = outcomes.filter((o) => o.status === 'rejected' && (o.reason as AppError).code === 'ROOM_FULL');
      expect([joined.length, full.length]).toEqual([3, 9]);
      const { rows } = await db().query(
        "select count(*)::int as n from participants p join rooms r on r.id = p.room_id where r.room_code = $1 and p.role = 'guest'",
        [roomCode],
      );
      expect(rows).toEqual([{ n: 3 }]);
    });

    it('runs a due deadline itself: an empty active room ends after its timeout', async () => {
      const { roomCode, hostId } = await newRoom(via(1));
      await via(1).dispatch(roomCode, join(hostId));
      await via(0).dispatch(roomCode, { type: 'leave', userId: hostId, reason: 'left' });
      await waitFor(async () => noticesOf(roomCode).some((n) => n.type === 'room:ended'), 5000);
      const reply = await via(0).dispatch(roomCode, { type: 'inspect' });
      expect(reply.room.status).toBe('ended');
    });

    it('close() lets the commands already queued finish', async () => {
      const extra = await open({ publish: () => {}, emptyRoomTimeoutMs: 60_000 });
      const router = extra.routers[0]!;
      const { roomCode, hostId } = await newRoom(router);
      const joining = router.dispatch(roomCode, join(hostId));
      const configuring = router.dispatch(roomCode, { type: 'configure', by: hostId, settings: { lock_room: true } });
      await extra.close();
      const [joined, configured] = await Promise.all([joining, configuring]);
      expect(joined.room.status).toBe('active');
      expect(configured.room.settings.lock_room).toBe(true);
    });
  });
}
