import { emptyLiveState, type LiveRoomState } from '../../src/live-state/live-state';
import { createMemoryLiveStateStore } from '../../src/live-state/memory-live-state';
import { contextFromStores, fullLiveChange, isEmptyLiveState, liveChange, liveStateOf } from '../../src/rooms/room-projection';
import type { StoredRoom } from '../../src/rooms/room-repository';
import { createRoomSnapshot, restoreRoomSnapshot, settingsOf, statusOf } from '../../src/rooms/machine-runner';
import type { RoomContext, RoomEvent, RoomSettings } from '../../src/rooms/room.types';
import { createMemoryRoomRepository } from '../support/memory-room-repository';
import { accepted, graceMs, gracesOf, host, room, timeoutMs } from '../support/room-machine';

/**
 * The room projection (src/rooms/room-projection.ts): how a room's context becomes its live state
 * and how a room comes back from PostgreSQL and the live state (activation, failover). Rooms are
 * built by the real machine; "PostgreSQL" is the durable changes folded by the in-memory
 * repository (test/support/memory-room-repository.ts); the live state is the in-process store.
 */

type Command = DistributiveOmit<RoomEvent, 'at'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const names: Record<string, string> = { [host]: 'Hana', ann: 'Ann', bob: 'Bob', carl: 'Carl', dora: 'Dora', eve: 'Eve', finn: 'Finn', gina: 'Gina' };
const join = (userId: string, language: string | null = null, hardwareReady = false): Command => ({
  type: 'join',
  userId,
  displayName: names[userId] ?? userId,
  language,
  hardwareReady,
});
const attach = (userId: string, connectionId = `${userId}-socket`): Command => ({ type: 'attach', userId, connectionId });

/** What a room must look like after coming back: everything but what lives only in memory (who is speaking right now). */
const restorable = (c: RoomContext): RoomContext => ({ ...c, speaking: {}, refusal: null });

/**
 * Runs commands through the machine, and after each accepted one writes its effects as the room
 * host does (the durable changes, then `liveChange` to the live state). Checks at every step that
 * the live state equals `liveStateOf` the context, and that the room rebuilt from both stores a
 * little later (`restoreAfterMs`) is the same room.
 */
async function playAndRestore(commands: (Command | { advance: number })[], settings: Partial<RoomSettings> = {}, timing = {}, restoreAfterMs = 5_000) {
  const r = room(settings, timing);
  let now = 1_000;
  const repository = createMemoryRoomRepository({ displayNameOf: (userId) => names[userId] ?? userId });
  const live = createMemoryLiveStateStore({ ttlMs: 60_000 });
  const { roomId: id, roomCode, name, hostId, createdAt } = r.ctx;
  await repository.create({ id, roomCode, name, hostId, createdAt, schedule: r.ctx.schedule, settings: settingsOf(r.snapshot) });
  try {
    for (const command of commands) {
      if ('advance' in command) {
        r.advance(command.advance);
        now += command.advance;
        continue;
      }
      const before = r.ctx;
      const result = accepted(r.send(command));
      if (!result.changed) continue;
      await repository.apply({ id, roomCode }, result.changes);
      const change = liveChange(before, r.ctx);
      if (change) await live.apply(roomCode, change);
      expect(await live.read(roomCode)).toEqual(liveStateOf(r.ctx));

      const stored = repository.peek(roomCode)!;
      const restored = contextFromStores(stored, await live.read(roomCode), r.ctx.timings, now + restoreAfterMs);
      expect(restored).toEqual(restorable(r.ctx));
      // The same state value too: lifecycle with occupancy, admission, speaker.
      expect(restoreRoomSnapshot(stored.status, restored, stored.settings.lock_room).value).toEqual(r.snapshot.value);
    }
    return { r, repository, live, now, stored: repository.peek(roomCode)!, liveState: await live.read(roomCode) };
  } finally {
    live.close();
  }
}

describe('room projection: a room comes back from its two stores as it was', () => {
  it('an active room with sockets, co-host, media, a removed user, a locked lobby, a rejected knock and a speaker', async () => {
    const { r, liveState } = await playAndRestore(
      [
        join(host, 'en', true),
        attach(host, 'h1'),
        attach(host, 'h2'),
        join('ann', 'fr', true),
        attach('ann'),
        { type: 'setMedia', userId: 'ann', media: { audio: true, video: false } },
        { advance: 1_000 },
        join('bob'),
        attach('bob'),
        { type: 'setCoHost', by: host, userId: 'bob', coHost: true },
        join('carl'), // never attaches: a grace deadline
        join('gina'),
        attach('gina'),
        { type: 'remove', by: host, userId: 'gina' }, // banned, and her socket stays recorded
        { type: 'configure', by: host, settings: { lock_room: true, speaker_threshold_db: -50 } },
        { advance: 1_000 },
        join('dora', 'de', true),
        attach('dora'),
        join('eve'),
        { type: 'reject', by: host, userId: 'eve' }, // a knock cooldown
        join('finn'),
        { type: 'admit', by: 'bob', userId: 'finn' },
        { type: 'setHardware', userId: 'finn', hardwareReady: true },
        { type: 'speakingStarted', userId: 'ann', level: -20 },
        { type: 'detach', userId: 'bob', connectionId: 'bob-socket' }, // bob's grace starts
      ],
      {},
      { cooldownMs: 60_000 },
    );
    // The scenario reached what it meant to (so the checks at each step covered all of it).
    expect(r.status).toBe('active');
    expect(Object.keys(r.ctx.participants).sort()).toEqual(['ann', 'bob', 'carl', 'finn', host].sort());
    expect(Object.keys(r.ctx.lobby)).toEqual(['dora']);
    expect(r.ctx.removed).toEqual(['gina']);
    expect(r.ctx.activeSpeaker).toBe('ann');
    expect(Object.keys(gracesOf(r.ctx)).sort()).toEqual(['bob', 'carl', 'finn']);
    // The live state under the README's names.
    expect(liveState.participants.bob).toMatchObject({ role: 'co_host', status: 'disconnected' });
    expect(liveState.participants.ann).toMatchObject({ language: 'fr', hardware_ready: true, media: { audio: true, video: false }, status: 'connected' });
    expect(liveState.lobby.dora).toEqual({ display_name: 'Dora', language: 'de', hardware_ready: true, since: new Date(3_000).toISOString() });
    expect(liveState.deadlines).toEqual({ 'grace:bob': 3_000 + graceMs, 'grace:carl': 2_000 + graceMs, 'grace:finn': 3_000 + graceMs });
    expect(liveState.connections).toEqual({ [host]: ['h1', 'h2'], ann: ['ann-socket'], gina: ['gina-socket'], dora: ['dora-socket'] });
    expect(liveState.knockCooldowns).toEqual({ eve: 3_000 + 60_000 });
  });

  it('an empty active room keeps its deadline, and the lobby waiting in it', async () => {
    const { r, liveState } = await playAndRestore([
      join(host),
      attach(host),
      { type: 'configure', by: host, settings: { lock_room: true } },
      join('ann', 'it'),
      attach('ann'),
      { advance: 10_000 },
      { type: 'leave', userId: host, reason: 'left' },
    ]);
    expect(r.ctx.participants).toEqual({});
    expect(liveState.deadlines).toEqual({ empty_room: 11_000 + timeoutMs });
    expect(Object.keys(liveState.lobby)).toEqual(['ann']);
  });

  it('a room down to one participant keeps its solo deadline', async () => {
    const { r, liveState } = await playAndRestore(
      [join(host), attach(host), join('ann'), attach('ann'), { advance: 2_000 }, { type: 'leave', userId: 'ann', reason: 'left' }],
      {},
      { soloMs: 120_000 },
    );
    expect(r.ctx.soloDeadline).toBe(3_000 + 120_000);
    expect(liveState.deadlines).toEqual({ solo_room: 3_000 + 120_000 });
  });

  it('a pending room: users waiting for the host, one attached', async () => {
    const { r, stored, liveState } = await playAndRestore([join('ann', 'pt', true), attach('ann'), join('bob')]);
    expect(r.status).toBe('pending');
    expect(stored.attendance).toEqual([]);
    expect(Object.keys(liveState.lobby).sort()).toEqual(['ann', 'bob']);
    expect(liveState.deadlines).toEqual({ 'grace:bob': 1_000 + graceMs });
  });

  it('the host arriving seats the lobby; leaving and rejoining opens a new attendance', async () => {
    const { r, stored } = await playAndRestore([
      join('ann'),
      join('bob'),
      { advance: 500 },
      join(host),
      { advance: 500 },
      { type: 'leave', userId: 'ann', reason: 'left' },
      { advance: 500 },
      join('ann', 'sv'),
    ]);
    expect(r.ctx.participants.ann?.joinedAt).toBe(2_500);
    expect(stored.attendance.map((a) => [a.userId, a.joinedAt])).toEqual([
      ['bob', 1_500],
      [host, 1_500],
      ['ann', 2_500],
    ]);
  });
});

describe('room projection: liveChange is the difference, and only it', () => {
  it('is null when nothing changed', () => {
    const r = room();
    r.send(join(host));
    expect(liveChange(r.ctx, r.ctx)).toBeNull();
    expect(liveChange(r.ctx, { ...r.ctx, speaking: { [host]: -10 } })).toBeNull();
  });

  it('names only the entries a command replaced or removed', () => {
    const r = room();
    r.send(join(host));
    r.send(join('ann'));
    r.send(join('bob'));
    let before = r.ctx;
    r.send({ type: 'setMedia', userId: 'ann', media: { audio: false, video: true } });
    expect(liveChange(before, r.ctx)).toEqual({ participants: { set: { ann: liveStateOf(r.ctx).participants.ann }, delete: [] } });

    before = r.ctx;
    r.send(attach('bob', 'b1'));
    expect(liveChange(before, r.ctx)).toEqual({
      participants: { set: { bob: expect.objectContaining({ status: 'connected' }) }, delete: [] },
      connections: { set: { bob: ['b1'] }, delete: [] },
      deadlines: { set: {}, delete: ['grace:bob'] },
    });

    before = r.ctx;
    r.send({ type: 'speakingStarted', userId: 'bob', level: -30 });
    expect(liveChange(before, r.ctx)).toEqual({ activeSpeaker: 'bob' });

    before = r.ctx;
    r.send({ type: 'leave', userId: 'bob', reason: 'left' });
    // The speaker left: the floor is cleared with them. His socket stays recorded (presence).
    expect(liveChange(before, r.ctx)).toEqual({ participants: { set: {}, delete: ['bob'] }, activeSpeaker: null });
  });
});

describe('room projection: the whole live state', () => {
  it('liveStateOf names deadlines as docs/operations.md "Redis keys" does and writes times as ISO 8601', () => {
    const r = room({}, { soloMs: 60_000 });
    r.send(join(host, 'en', true));
    r.send(join('ann'));
    r.send({ type: 'leave', userId: 'ann', reason: 'left' });
    expect(liveStateOf(r.ctx)).toEqual({
      participants: {
        [host]: {
          status: 'disconnected',
          language: 'en',
          hardware_ready: true,
          display_name: 'Hana',
          role: 'host',
          joined_at: '1970-01-01T00:00:01.000Z',
          media: null,
        },
      },
      lobby: {},
      activeSpeaker: null,
      deadlines: { [`grace:${host}`]: 1_000 + graceMs, solo_room: 1_000 + 60_000 },
      connections: {},
      knockCooldowns: {},
    });
  });

  it('fullLiveChange fills an empty store with exactly liveStateOf, and is null for a room with nothing live', async () => {
    const store = createMemoryLiveStateStore({ ttlMs: 60_000 });
    try {
      const r = room({ lock_room: true }, { cooldownMs: 10_000 });
      expect(fullLiveChange(r.ctx)).toBeNull();
      for (const command of [join(host), attach(host), join('ann'), join('bob'), attach('bob')]) accepted(r.send(command));
      accepted(r.send({ type: 'reject', by: host, userId: 'ann' }));
      accepted(r.send({ type: 'speakingStarted', userId: host, level: -10 }));
      await store.apply('room', fullLiveChange(r.ctx)!);
      expect(await store.read('room')).toEqual(liveStateOf(r.ctx));
      expect(isEmptyLiveState(await store.read('room'))).toBe(false);
    } finally {
      store.close();
    }
  });

  it('isEmptyLiveState: only a state with nothing in any part is empty', () => {
    expect(isEmptyLiveState(emptyLiveState())).toBe(true);
    const parts: Partial<LiveRoomState>[] = [
      { participants: { a: liveStateOf(seatedRoom()).participants[host]! } },
      { lobby: { a: { display_name: 'A', language: null, hardware_ready: false, since: '1970-01-01T00:00:00.000Z' } } },
      { activeSpeaker: 'a' },
      { deadlines: { empty_room: 1 } },
      { connections: { a: ['s'] } },
      { knockCooldowns: { a: 1 } },
    ];
    for (const part of parts) expect(isEmptyLiveState({ ...emptyLiveState(), ...part })).toBe(false);
  });
});

/** A room with the host seated. */
function seatedRoom(): RoomContext {
  const r = room();
  r.send(join(host));
  return r.ctx;
}

describe('room projection: rebuilding a room from the stores, where they disagree', () => {
  const timings = {
    emptyRoomTimeoutMs: timeoutMs,
    soloRoomTimeoutMs: 0,
    unusedRoomTimeoutMs: 0,
    reconnectGraceMs: graceMs,
    lobbyRejectCooldownMs: 0,
    scheduledEndWarningMs: 0,
  };
  const settings = { lock_room: false, enable_transcription: false, max_participants: 10 };
  const stored = (overrides: Partial<StoredRoom> = {}): StoredRoom => ({
    id: 'room-id',
    roomCode: 'abcdefghijkl',
    hostId: host,
    name: 'Standup',
    status: 'active',
    createdAt: 0,
    startedAt: 1_000,
    endedAt: null,
    schedule: { startAt: null, endAt: null },
    settings,
    attendance: [
      { userId: host, displayName: 'Hana', role: 'host', joinedAt: 1_000 },
      { userId: 'ann', displayName: 'Ann', role: 'guest', joinedAt: 2_000 },
    ],
    removed: [],
    ...overrides,
  });
  const participant = (role: 'host' | 'guest' | 'co_host', overrides = {}) => ({
    status: 'connected' as const,
    language: 'en',
    hardware_ready: true,
    display_name: 'Stale name',
    role,
    joined_at: '1970-01-01T00:00:01.000Z',
    media: { audio: true, video: true },
    ...overrides,
  });
  const now = 50_000;

  it('PostgreSQL decides who is in the room; the live state adds their details', () => {
    const live: LiveRoomState = {
      ...emptyLiveState(),
      // Ann is co-host (kept with the live details); "ghost" has no open attendance.
      participants: { [host]: participant('host'), ann: participant('co_host', { language: 'fr' }), ghost: participant('guest') },
      connections: { [host]: ['h1'], ghost: ['g1'] },
      deadlines: { 'grace:ann': 40_000 },
    };
    const c = contextFromStores(stored(), live, timings, now);
    expect(Object.keys(c.participants).sort()).toEqual(['ann', host].sort());
    expect(c.participants[host]).toEqual({
      userId: host,
      displayName: 'Hana', // PostgreSQL's name, not the live copy
      role: 'host',
      status: 'connected',
      language: 'en',
      hardwareReady: true,
      joinedAt: 1_000,
      media: { audio: true, video: true },
    });
    expect(c.participants.ann).toMatchObject({ role: 'co_host', status: 'disconnected', language: 'fr' });
    expect(gracesOf(c)).toEqual({ ann: 40_000 });
  });

  it('a live co-host role never makes the host a guest, nor a guest anything but co-host', () => {
    const live: LiveRoomState = { ...emptyLiveState(), participants: { [host]: participant('co_host'), ann: participant('host') } };
    const c = contextFromStores(stored(), live, timings, now);
    expect(c.participants[host]?.role).toBe('host');
    expect(c.participants.ann?.role).toBe('guest');
  });

  it('a participant PostgreSQL has and the live state lost gets defaults and a grace starting now', () => {
    const c = contextFromStores(stored(), emptyLiveState(), timings, now);
    expect(c.participants.ann).toEqual({
      userId: 'ann',
      displayName: 'Ann',
      role: 'guest',
      status: 'disconnected',
      language: null,
      hardwareReady: false,
      joinedAt: 2_000,
      media: null,
    });
    expect(gracesOf(c)).toEqual({ [host]: now + graceMs, ann: now + graceMs });
    expect(c.emptyDeadline).toBeNull();
  });

  it('an empty active room always has a deadline: the stored one, or one starting now', () => {
    const empty = stored({ attendance: [] });
    expect(contextFromStores(empty, { ...emptyLiveState(), deadlines: { empty_room: 7_000 } }, timings, now).emptyDeadline).toBe(7_000);
    expect(contextFromStores(empty, emptyLiveState(), timings, now).emptyDeadline).toBe(now + timeoutMs);
    // Not a pending room: it has nobody in it by nature.
    expect(contextFromStores(stored({ status: 'pending', startedAt: null, attendance: [] }), emptyLiveState(), timings, now).emptyDeadline).toBeNull();
  });

  it('the solo deadline only with SOLO_ROOM_TIMEOUT_S set and one participant', () => {
    const solo = stored({ attendance: [{ userId: host, displayName: 'Hana', role: 'host', joinedAt: 1_000 }] });
    const withSolo = { ...timings, soloRoomTimeoutMs: 90_000 };
    expect(contextFromStores(solo, emptyLiveState(), withSolo, now).soloDeadline).toBe(now + 90_000);
    expect(contextFromStores(solo, { ...emptyLiveState(), deadlines: { solo_room: 60_000 } }, withSolo, now).soloDeadline).toBe(60_000);
    expect(contextFromStores(solo, emptyLiveState(), timings, now).soloDeadline).toBeNull();
    expect(contextFromStores(stored(), emptyLiveState(), withSolo, now).soloDeadline).toBeNull();
  });

  it("an invitee's place in the lobby is kept as invited; entries written without the flag read as not invited", () => {
    const r = room({ lock_room: true });
    accepted(r.joinInvited('ann'));
    accepted(r.join('bob'));
    const live = liveStateOf(r.ctx);
    expect(live.lobby.ann).toMatchObject({ invited: true });
    expect(live.lobby.bob).not.toHaveProperty('invited');
    const c = contextFromStores(stored({ status: 'pending', startedAt: null, attendance: [] }), live, timings, now);
    expect([c.lobby.ann!.invited, c.lobby.bob!.invited]).toEqual([true, false]);
  });

  it('a meeting ending at its scheduled end: restored with its closing, and a warning already given is not given again', () => {
    const endAt = now + 600_000;
    const closingRoom = stored({ schedule: { startAt: 500, endAt }, settings: { ...settings, end_at_scheduled_end: true } });
    const withWarning = { ...timings, scheduledEndWarningMs: 300_000 };
    // Nothing in the live state (lost, or written by an older node): armed from PostgreSQL's facts.
    const fresh = contextFromStores(closingRoom, emptyLiveState(), withWarning, now);
    expect([fresh.closingDeadline, fresh.closingWarning]).toEqual([endAt, endAt - 300_000]);
    // The live state shows the end but no warning: it was given.
    const warned = contextFromStores(closingRoom, { ...emptyLiveState(), deadlines: { scheduled_end: endAt } }, withWarning, now);
    expect([warned.closingDeadline, warned.closingWarning]).toEqual([endAt, null]);
    // An end the live state has for an older schedule is no guide.
    const moved = contextFromStores(closingRoom, { ...emptyLiveState(), deadlines: { scheduled_end: endAt - 1 } }, withWarning, now);
    expect(moved.closingWarning).toBe(endAt - 300_000);
    expect(liveStateOf(fresh).deadlines).toMatchObject({ scheduled_end: endAt, end_warning: endAt - 300_000 });
  });

  it('the lobby keeps no participant and nobody removed', () => {
    const entry = { display_name: 'X', language: null, hardware_ready: false, since: '1970-01-01T00:00:04.000Z' };
    const live: LiveRoomState = { ...emptyLiveState(), lobby: { ann: entry, gina: entry, dora: entry }, connections: { dora: ['d1'] } };
    const c = contextFromStores(stored({ removed: ['gina'] }), live, timings, now);
    expect(c.lobby).toEqual({ dora: { userId: 'dora', displayName: 'X', language: null, hardwareReady: false, since: 4_000, invited: false } });
    expect(c.removed).toEqual(['gina']);
  });

  it('the active speaker must be a participant; knock cooldowns already over are dropped', () => {
    const live: LiveRoomState = { ...emptyLiveState(), activeSpeaker: 'ghost', knockCooldowns: { eve: now + 1, old: now } };
    const c = contextFromStores(stored(), live, timings, now);
    expect(c.activeSpeaker).toBeNull();
    expect(c.knockCooldowns).toEqual({ eve: now + 1 });
    expect(contextFromStores(stored(), { ...live, activeSpeaker: 'ann' }, timings, now).activeSpeaker).toBe('ann');
  });

  it('an ended room has nobody, no sockets and no deadlines, whatever the live state still holds', () => {
    const live: LiveRoomState = {
      ...emptyLiveState(),
      participants: { [host]: participant('host') },
      lobby: { dora: { display_name: 'Dora', language: null, hardware_ready: false, since: '1970-01-01T00:00:04.000Z' } },
      connections: { [host]: ['h1'], dora: ['d1'] },
      deadlines: { empty_room: 9_000, [`grace:${host}`]: 9_000 },
      activeSpeaker: host,
    };
    const c = contextFromStores(stored({ status: 'ended', endedAt: 8_000 }), live, timings, now);
    expect(c).toMatchObject({ participants: {}, lobby: {}, presence: {}, emptyDeadline: null, soloDeadline: null, activeSpeaker: null });
    expect(c.endedAt).toBe(8_000);
    expect(statusOf(restoreRoomSnapshot('ended', c, false))).toBe('ended');
  });

  it('a new room restored from its row alone is the room as created', () => {
    const created = createRoomSnapshot({
      roomId: 'room-id',
      roomCode: 'abcdefghijkl',
      name: 'Standup',
      hostId: host,
      createdAt: 0,
      schedule: { startAt: null, endAt: null },
      settings,
      timings,
    });
    const c = contextFromStores(stored({ status: 'pending', startedAt: null, attendance: [] }), emptyLiveState(), timings, now);
    expect(c).toEqual(created.context);
  });
});
