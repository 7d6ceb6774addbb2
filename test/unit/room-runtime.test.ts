import pino from 'pino';
import { AppError } from '../../src/errors/app-error';
import { StaleOwnerError, unfenced, type RoomFence } from '../../src/live-state/fencing';
import { emptyLiveState, type LiveStateStore } from '../../src/live-state/live-state';
import { createMemoryLiveStateStore } from '../../src/live-state/memory-live-state';
import { createRoomRuntime } from '../../src/rooms/room-runtime';
import type { RoomRuntime, RoomRuntimeDeps } from '../../src/rooms/room-runtime.types';
import { noOutbox } from '../../src/rooms/room-outbox';
import { createRoomStore } from '../../src/rooms/room-store';
import type { NewRoom } from '../../src/rooms/room-repository';
import type { RoomCommand } from '../../src/rooms/room-router';
import type { RoomNotice, RoomSettings, RoomTimings } from '../../src/rooms/room.types';
import { createMemoryRoomRepository, type MemoryRoomRepository } from '../support/memory-room-repository';

/**
 * The room runtime (src/rooms/room-runtime.ts) on its own: per-room mailboxes, activation from the
 * stores, PostgreSQL before the live state, deadlines through `expire`, and what it keeps when a
 * store fails. The live state is the in-process store (a product implementation, here behind a
 * wrapper that can make one call fail); PostgreSQL is the in-memory test double
 * (test/support/memory-room-repository.ts). The clock is the test's.
 */

const logger = pino({ level: 'silent' });
const hostId = 'host-1';
const code = 'abcdefghijkl';
const defaultTimings: RoomTimings = {
  emptyRoomTimeoutMs: 300_000,
  soloRoomTimeoutMs: 0,
  unusedRoomTimeoutMs: 0,
  reconnectGraceMs: 60_000,
  lobbyRejectCooldownMs: 0,
  scheduledEndWarningMs: 0,
};

const join = (userId: string, language: string | null = null, hardwareReady = false) =>
  ({ type: 'join', userId, displayName: userId, language, hardwareReady }) as const;
const attach = (userId: string, connectionId: string) => ({ type: 'attach', userId, connectionId }) as const;
const newRoom = (overrides: Partial<NewRoom> = {}, settings: Partial<RoomSettings> = {}): NewRoom => ({
  id: 'room-id',
  roomCode: code,
  hostId,
  name: 'Standup',
  settings: { lock_room: false, enable_transcription: false, max_participants: 3, ...settings },
  schedule: { startAt: null, endAt: null },
  createdAt: 500,
  ...overrides,
});

/** Lets the settled command's bookkeeping (its mailbox's tail) run. */
const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};
async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The AppError code a command was refused with (anything else as it was thrown). */
const codeOf = (error: unknown) => (error instanceof AppError ? error.code : error);
const refusal = (promise: Promise<unknown>) => promise.then(() => 'accepted', codeOf);

/** The in-process live state, with a switch that makes its next call of one kind fail (a Redis outage, by default). */
function faultyLiveState(store: LiveStateStore) {
  const failing = new Map<'read' | 'apply' | 'delete', Error>();
  /** What was put in the cluster's index of deadlines (a no-op in the in-process store itself). */
  const scheduled: [string, string, number][] = [];
  const fail = (kind: 'read' | 'apply' | 'delete') => {
    const error = failing.get(kind);
    return failing.delete(kind) && Promise.reject(error);
  };
  const liveState: LiveStateStore = {
    read: (roomCode) => fail('read') || store.read(roomCode),
    apply: (roomCode, change) => fail('apply') || store.apply(roomCode, change),
    refresh: (roomCodes) => store.refresh(roomCodes),
    delete: (roomCode) => fail('delete') || store.delete(roomCode),
    schedule: (roomCode, name, at) => {
      scheduled.push([roomCode, name, at]);
      return store.schedule(roomCode, name, at);
    },
  };
  return {
    liveState,
    scheduled,
    failNext: (kind: 'read' | 'apply' | 'delete', error: Error = new Error(`Redis ${kind} failed`)) => void failing.set(kind, error),
  };
}

const opened: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const handle of opened.splice(0).reverse()) await handle.close();
});

interface Options {
  timings?: Partial<RoomTimings>;
  fence?: RoomFence;
  liveTtlMs?: number;
  refreshEveryMs?: number;
  publish?: RoomRuntimeDeps['publish'];
}

/** A repository, a live state, a clock, and runtimes over them (a second runtime is another node, or this one restarted). */
function world(options: Options = {}) {
  const clock = { now: 1_000_000 };
  const repository: MemoryRoomRepository = createMemoryRoomRepository();
  const store = createMemoryLiveStateStore({ ttlMs: options.liveTtlMs ?? 60_000 });
  opened.push({ close: () => store.close() });
  const { liveState, failNext, scheduled } = faultyLiveState(store);
  const published: [string, RoomNotice][] = [];

  function newRuntime(overrides: Partial<RoomRuntimeDeps> = {}) {
    const routed: [string, RoomCommand][] = [];
    const unloaded: [string, boolean][] = [];
    let onRoute: (roomCode: string, command: RoomCommand) => Promise<unknown> = async () => undefined;
    const timings = { ...defaultTimings, ...options.timings };
    const now = () => clock.now;
    const runtime: RoomRuntime = createRoomRuntime({
      store: createRoomStore({ repository, liveState, fence: options.fence ?? unfenced, outbox: noOutbox, timings, logger, now }),
      logger,
      publish: options.publish ?? ((roomCode, notices) => notices.forEach((notice) => published.push([roomCode, notice]))),
      timings,
      refreshEveryMs: options.refreshEveryMs ?? 60_000,
      // The composition root sends a due deadline through the router as `expire`: recorded as that command.
      expire(roomCode) {
        const command: RoomCommand = { type: 'expire' };
        routed.push([roomCode, command]);
        return onRoute(roomCode, command);
      },
      onUnload: (roomCode, unused) => void unloaded.push([roomCode, unused]),
      now,
      ...overrides,
    });
    opened.push(runtime);
    return {
      runtime,
      routed,
      unloaded,
      /** What the runtime's `expire` does with the command (the router sends it back to a runtime). */
      onRoute(handler: typeof onRoute) {
        onRoute = handler;
      },
    };
  }

  return {
    clock,
    repository,
    store,
    failLiveState: failNext,
    scheduled,
    published,
    newRuntime,
    /** Both stores as they are now. */
    async stores(roomCode = code) {
      return { postgres: repository.peek(roomCode), live: await store.read(roomCode) };
    },
  };
}

/**
 * A world with one runtime and a room in it (created elsewhere: the first command loads it), with
 * the host seated and attached at 1_000_000; the clock then reads 1_001_000.
 */
async function withSeatedHost(options: Options = {}, settings: Partial<RoomSettings> = {}) {
  const w = world(options);
  await w.repository.create(newRoom({}, settings));
  const node = w.newRuntime();
  await node.runtime.run(code, join(hostId, 'en', true));
  await node.runtime.run(code, attach(hostId, 'h1'));
  w.clock.now += 1_000;
  return { ...w, ...node };
}

describe('room runtime: mailboxes', () => {
  it("runs a room's commands strictly one after another: concurrent joins up to the cap seat exactly the cap", async () => {
    const { runtime, repository, store } = await withSeatedHost({}, { max_participants: 3 });
    const guests = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7'];
    const outcomes = await Promise.all(guests.map((g) => runtime.run(code, join(g)).then((reply) => (reply.joined ? 'joined' : 'waiting'), codeOf)));
    // First come, first seated; the rest find the room full.
    expect(outcomes).toEqual(['joined', 'joined', 'joined', 'ROOM_FULL', 'ROOM_FULL', 'ROOM_FULL', 'ROOM_FULL', 'ROOM_FULL']);
    expect(repository.peek(code)!.attendance.map((a) => a.userId)).toEqual([hostId, 'g0', 'g1', 'g2']);
    expect(Object.keys((await store.read(code)).participants).sort()).toEqual([hostId, 'g0', 'g1', 'g2'].sort());
    expect(repository.writes.maxConcurrent).toBe(1);
  });

  it('different rooms run side by side: a room whose write hangs holds up only itself', async () => {
    const w = world();
    await w.repository.create(newRoom());
    await w.repository.create(newRoom({ id: 'other-id', roomCode: 'otherroom123' }));
    const { runtime } = w.newRuntime();
    const release = w.repository.blockWrites(code);
    let firstDone = false;
    const first = runtime.run(code, join(hostId)).then(() => (firstDone = true));
    const queuedBehind = runtime.run(code, { type: 'inspect' });
    const other = await runtime.run('otherroom123', join(hostId));
    expect(other.room.status).toBe('active');
    await flush();
    expect(firstDone).toBe(false);
    release();
    await first;
    expect((await queuedBehind).room.participantCount).toBe(1);
  });
});

describe('room runtime: batches', () => {
  it('commands that queue while a write is in flight are written together, each answered as if run alone, notices in order', async () => {
    const w = await withSeatedHost({}, { max_participants: 5 });
    const applies = w.repository.calls.apply;
    const notices = w.published.length;
    const release = w.repository.blockWrites(code);
    const first = w.runtime.run(code, join('g0'));
    await flush();
    const queued = [
      w.runtime.run(code, join('g1')),
      refusal(w.runtime.run(code, { type: 'admit', by: hostId, userId: 'nobody' })),
      w.runtime.run(code, join('g2')),
      w.runtime.run(code, { type: 'inspect' }),
      w.runtime.run(code, { type: 'leave', userId: 'g1', reason: 'left' }),
    ] as const;
    release();
    expect((await first).joined).toBe(true);
    const [g1, admit, g2, inspected, left] = await Promise.all(queued);
    expect([g1.joined, admit, g2.joined]).toEqual([true, 'NOT_IN_LOBBY', true]);
    // Each reply is the room as its own command left it.
    expect([g1.room.participantCount, g2.room.participantCount, inspected.room.participantCount, left.room.participantCount]).toEqual([3, 4, 4, 3]);
    // The first write alone, then everything that queued behind it in one.
    expect(w.repository.calls.apply).toBe(applies + 2);
    const told = w.published.slice(notices).map(([, notice]) => notice);
    expect(
      told
        .filter((n) => n.type === 'participant:joined' || n.type === 'participant:left')
        .map((n) => (n.type === 'participant:joined' ? `+${n.participant.userId}` : `-${n.userId}`)),
    ).toEqual(['+g0', '+g1', '+g2', '-g1']);
    const { postgres, live } = await w.stores();
    expect(postgres!.attendance.map((a) => a.userId)).toEqual([hostId, 'g0', 'g2']);
    expect(Object.keys(live.participants).sort()).toEqual([hostId, 'g0', 'g2'].sort());
  });

  it('a batch whose write fails: answers computed before its first change stand, the later ones get the error, and nothing is kept', async () => {
    const w = await withSeatedHost();
    const before = await w.stores();
    const notices = w.published.length;
    w.repository.failNext('apply');
    // Sent in one tick, so they run as one batch.
    const answers = Promise.all([
      refusal(w.runtime.run(code, { type: 'admit', by: hostId, userId: 'nobody' })),
      refusal(w.runtime.run(code, join('ann'))),
      refusal(w.runtime.run(code, { type: 'admit', by: hostId, userId: 'nobody' })),
      refusal(w.runtime.run(code, { type: 'inspect' })),
    ]);
    const failed = new Error('Connection terminated unexpectedly');
    expect(await answers).toEqual(['NOT_IN_LOBBY', failed, failed, failed]);
    expect(await w.stores()).toEqual(before);
    expect(w.published.length).toBe(notices);
    // The next command reloads the room as the stores have it.
    expect((await w.runtime.run(code, { type: 'inspect' })).room.participantCount).toBe(1);
  });

  it('a batch whose write one command spoils (a joining account deleted): its commands run again one at a time, and only that one is refused', async () => {
    const w = await withSeatedHost();
    const applies = w.repository.calls.apply;
    w.repository.deleteAccount('gone');
    // Sent in one tick, so they run as one batch, which PostgreSQL refuses as a whole.
    const answers = await Promise.all([refusal(w.runtime.run(code, join('gone'))), refusal(w.runtime.run(code, join('ann')))]);
    expect(answers).toEqual(['UNAUTHENTICATED', 'accepted']);
    // The batch, then each command alone.
    expect(w.repository.calls.apply).toBe(applies + 3);
    const { postgres, live } = await w.stores();
    expect(postgres!.attendance.map((a) => a.userId)).toEqual([hostId, 'ann']);
    expect(Object.keys(live.participants).sort()).toEqual([hostId, 'ann'].sort());
    expect(
      w.published.filter(([, n]) => n.type === 'participant:joined').map(([, n]) => (n.type === 'participant:joined' ? n.participant.userId : '')),
    ).toEqual([hostId, 'ann']);
  });
});

describe('room runtime: a refused command', () => {
  it('changes neither store, publishes nothing and leaves the room as it was', async () => {
    const w = await withSeatedHost({}, { max_participants: 1 });
    await w.runtime.run(code, join('ann'));
    const before = await w.stores();
    const notices = w.published.length;
    const writes = w.repository.calls.apply;

    expect(await refusal(w.runtime.run(code, join('bob')))).toBe('ROOM_FULL');
    expect(await refusal(w.runtime.run(code, { type: 'end', by: 'ann' }))).toBe('NOT_HOST');
    expect(await refusal(w.runtime.run(code, { type: 'remove', by: 'ann', userId: hostId }))).toBe('NOT_HOST');
    expect(await refusal(w.runtime.run(code, { type: 'admit', by: hostId, userId: 'nobody' }))).toBe('NOT_IN_LOBBY');
    expect(await refusal(w.runtime.run(code, { type: 'setMedia', userId: 'bob', media: { audio: true, video: true } }))).toBe('NOT_A_PARTICIPANT');

    expect(await w.stores()).toEqual(before);
    expect(w.repository.calls.apply).toBe(writes);
    expect(w.published.length).toBe(notices);
    const { room } = await w.runtime.run(code, { type: 'inspect' });
    expect(room).toMatchObject({ status: 'active', participantCount: 2, lobbyCount: 0 });
  });
});

describe('room runtime: a store failing', () => {
  it('a failing PostgreSQL write leaves the live state untouched; the next command reloads the room from the stores', async () => {
    const w = await withSeatedHost();
    const before = await w.stores();
    const loads = w.repository.calls.load;
    const notices = w.published.length;
    w.repository.failNext('apply');

    await expect(w.runtime.run(code, join('ann', 'fr'))).rejects.toThrow('Connection terminated');
    expect(await w.stores()).toEqual(before);
    expect(w.published.length).toBe(notices);

    const reply = await w.runtime.run(code, join('ann', 'fr'));
    expect(reply.joined).toBe(true);
    expect(w.repository.calls.load).toBe(loads + 1);
    // Reloaded from both stores: the host is still attached.
    const { live } = await w.stores();
    expect(live.participants[hostId]?.status).toBe('connected');
    expect(live.participants.ann).toMatchObject({ language: 'fr', status: 'disconnected' });
  });

  it('a failing live-state write after the PostgreSQL commit: the change stands, the snapshot is retained, the next command reloads', async () => {
    const w = await withSeatedHost();
    const liveBefore = await w.store.read(code);
    w.failLiveState('apply');

    await expect(w.runtime.run(code, join('ann', 'fr', true))).rejects.toThrow('Redis apply failed');
    expect(w.repository.peek(code)!.attendance.map((a) => a.userId)).toEqual([hostId, 'ann']);
    expect(await w.store.read(code)).toEqual(liveBefore);
    expect(w.runtime.retains(code)).toBe(true);
    expect(w.runtime.retainedRooms()).toEqual([code]);

    // The live state was not lost, so it is read as it is; PostgreSQL says Ann is in.
    const loads = w.repository.calls.load;
    const reply = await w.runtime.run(code, { type: 'viewParticipants', by: hostId });
    expect(w.repository.calls.load).toBe(loads + 1);
    expect(reply.participants.map((p) => [p.userId, p.status, p.language])).toEqual([
      [hostId, 'connected', 'en'],
      ['ann', 'disconnected', null],
    ]);
    expect(w.runtime.retains(code)).toBe(false);
  });

  it('a retained snapshot is written back when the next activation finds the live state empty (Redis lost it)', async () => {
    const w = await withSeatedHost({ timings: { reconnectGraceMs: 45_000 } });
    w.failLiveState('apply');
    await expect(w.runtime.run(code, join('ann', 'fr', true))).rejects.toThrow('Redis apply failed');
    await w.store.delete(code); // Redis restarted empty

    w.clock.now += 1_000;
    const reply = await w.runtime.run(code, { type: 'viewParticipants', by: hostId });
    expect(reply.participants.map((p) => [p.userId, p.status, p.language])).toEqual([
      [hostId, 'connected', 'en'],
      ['ann', 'disconnected', 'fr'],
    ]);
    const live = await w.store.read(code);
    expect(live.participants.ann).toMatchObject({ language: 'fr', hardware_ready: true, status: 'disconnected' });
    expect(live.participants[hostId]).toMatchObject({ status: 'connected', language: 'en' });
    expect(live.connections).toEqual({ [hostId]: ['h1'] });
    // Ann's grace counts from her join, not from the restore.
    expect(live.deadlines).toEqual({ 'grace:ann': 1_001_000 + 45_000 });
    expect(w.runtime.retains(code)).toBe(false);
    expect(w.runtime.connections()).toEqual([{ roomCode: code, userId: hostId, connectionId: 'h1' }]);
  });

  it('a write-back that fails keeps the snapshot for the activation after', async () => {
    const w = await withSeatedHost();
    w.failLiveState('apply');
    await expect(w.runtime.run(code, join('ann', 'fr'))).rejects.toThrow('Redis apply failed');
    await w.store.delete(code);

    w.failLiveState('apply');
    await expect(w.runtime.run(code, { type: 'inspect' })).rejects.toThrow('Redis apply failed');
    expect(w.runtime.retains(code)).toBe(true);
    expect(await w.store.read(code)).toEqual(emptyLiveState());

    await w.runtime.run(code, { type: 'inspect' });
    expect((await w.store.read(code)).participants.ann?.language).toBe('fr');
    expect(w.runtime.retains(code)).toBe(false);
  });

  it('a snapshot set aside more than a minute ago is not written back: the stores know better by then', async () => {
    const w = await withSeatedHost();
    w.failLiveState('apply');
    await expect(w.runtime.run(code, join('ann', 'fr'))).rejects.toThrow('Redis apply failed');
    await w.store.delete(code);

    w.clock.now += 60_000;
    const reply = await w.runtime.run(code, { type: 'viewParticipants', by: hostId });
    expect(reply.participants.map((p) => [p.userId, p.status, p.language])).toEqual([
      [hostId, 'disconnected', null],
      ['ann', 'disconnected', null],
    ]);
    expect(w.runtime.connections()).toEqual([]);
  });
});

describe('room runtime: deadlines', () => {
  it('a due deadline reaches the router as an expire command; run, it ends the empty room', async () => {
    const w = await withSeatedHost({ timings: { emptyRoomTimeoutMs: 30 } });
    const { runtime, routed, unloaded } = w;
    await runtime.run(code, { type: 'leave', userId: hostId, reason: 'left' });
    expect((await w.store.read(code)).deadlines).toEqual({ empty_room: w.clock.now + 30 });

    await waitFor(() => routed.length > 0);
    expect(routed).toEqual([[code, { type: 'expire' }]]);
    w.clock.now += 30;
    const reply = await runtime.run(code, { type: 'expire' });
    expect(reply.room.status).toBe('ended');
    expect(w.repository.peek(code)).toMatchObject({ status: 'ended', endedAt: w.clock.now });
    expect(await w.store.read(code)).toEqual(emptyLiveState());
    await flush();
    expect(unloaded).toEqual([[code, false]]);
  });

  it('an expire that comes early changes nothing, and the timer is set again', async () => {
    const w = await withSeatedHost({ timings: { emptyRoomTimeoutMs: 30 } });
    const { runtime, routed } = w;
    w.onRoute(async (roomCode, command) => {
      // The first comes "early" on the room's clock; the second when due.
      if (routed.length === 2) w.clock.now += 30;
      return runtime.run(roomCode, command as { type: 'expire' });
    });
    await runtime.run(code, { type: 'leave', userId: hostId, reason: 'left' });
    await waitFor(() => w.repository.peek(code)!.status === 'ended');
    expect(routed).toEqual([
      [code, { type: 'expire' }],
      [code, { type: 'expire' }],
    ]);
  });

  it('a participant who never attaches leaves when their grace runs out, reason disconnected', async () => {
    const w = await withSeatedHost({ timings: { reconnectGraceMs: 30 } });
    w.onRoute(async (roomCode, command) => {
      w.clock.now += 30;
      return w.runtime.run(roomCode, command as { type: 'expire' });
    });
    await w.runtime.run(code, join('ann'));
    await waitFor(() => w.repository.peek(code)!.attendance.length === 1);
    expect(w.published).toContainEqual([code, { type: 'participant:left', userId: 'ann', reason: 'disconnected' }]);
    expect(Object.keys((await w.store.read(code)).participants)).toEqual([hostId]);
  });

  it('activation arms the deadlines the live state holds: a room that failed over still ends', async () => {
    const w = await withSeatedHost({ timings: { emptyRoomTimeoutMs: 40 } });
    await w.runtime.run(code, { type: 'leave', userId: hostId, reason: 'left' });
    await w.runtime.close(); // this node is gone, its timers with it

    const next = w.newRuntime();
    await next.runtime.run(code, { type: 'inspect' });
    await waitFor(() => next.routed.length > 0);
    expect(next.routed).toEqual([[code, { type: 'expire' }]]);
    expect(w.routed).toEqual([]);
  });
});

describe('room runtime: create', () => {
  it('a room created and held here needs no load for its first command', async () => {
    const w = world();
    const { runtime } = w.newRuntime();
    expect(await runtime.create(newRoom(), true)).toBe(true);
    expect(w.repository.peek(code)).toMatchObject({ id: 'room-id', status: 'pending', attendance: [] });
    const reply = await runtime.run(code, join(hostId));
    expect(reply.room).toMatchObject({ status: 'active', participantCount: 1, createdAt: 500 });
    expect(w.repository.calls.load).toBe(0);
    expect(w.repository.peek(code)!.attendance.map((a) => a.userId)).toEqual([hostId]);
  });

  it('a room created and held here writes its unused-room deadline and arms it; due, the room nobody started ends', async () => {
    const w = world({ timings: { unusedRoomTimeoutMs: 30 } });
    const { runtime, routed } = w.newRuntime();
    expect(await runtime.create(newRoom(), true)).toBe(true);
    // Counted from the room's creation (500 here), in the live state (and so the cluster's index) for any node to run.
    expect(w.scheduled).toEqual([[code, 'unused_room', 530]]);
    expect((await w.store.read(code)).deadlines).toEqual({ unused_room: 530 });
    await waitFor(() => routed.length > 0);
    expect(routed).toEqual([[code, { type: 'expire' }]]);
    expect((await runtime.run(code, { type: 'expire' })).room.status).toBe('ended');
    expect(w.repository.peek(code)).toMatchObject({ status: 'ended' });
    expect(await w.store.read(code)).toEqual(emptyLiveState());
  });

  it('a room created without holding it is loaded by its first command', async () => {
    const w = world();
    const { runtime } = w.newRuntime();
    expect(await runtime.create(newRoom(), false)).toBe(true);
    await runtime.run(code, join(hostId));
    expect(w.repository.calls.load).toBe(1);
  });

  it('a taken code: false, and nothing written', async () => {
    const w = world();
    const { runtime } = w.newRuntime();
    await runtime.create(newRoom(), true);
    await runtime.run(code, join(hostId));
    expect(await runtime.create(newRoom({ id: 'other-id', name: 'Impostor' }), true)).toBe(false);
    expect(w.repository.peek(code)).toMatchObject({ id: 'room-id', name: 'Standup', status: 'active' });
    expect((await runtime.run(code, { type: 'inspect' })).room).toMatchObject({ name: 'Standup', participantCount: 1 });
  });

  it('a held room nobody uses leaves memory after a while, marked unused; one that was used is not', async () => {
    jest.useFakeTimers();
    try {
      const w = world();
      const { runtime, unloaded } = w.newRuntime();
      await runtime.create(newRoom(), true);
      await runtime.create(newRoom({ id: 'used-id', roomCode: 'usedroom1234' }), true);
      await runtime.run('usedroom1234', join('ann')); // waits in the lobby: the room stays
      jest.advanceTimersByTime(9_999);
      expect(unloaded).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(unloaded).toEqual([[code, true]]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('a room with nothing live leaves memory once its command is done, and is loaded again by the next', async () => {
    const w = world();
    const { runtime, unloaded } = w.newRuntime();
    await runtime.create(newRoom(), true);
    await runtime.run(code, { type: 'inspect' });
    await flush();
    expect(unloaded).toEqual([[code, false]]);
    await runtime.run(code, { type: 'inspect' });
    expect(w.repository.calls.load).toBe(1);
  });
});

describe('room runtime: unloadAll, suspend, close', () => {
  it('unloadAll forgets every snapshot: the next command reloads and sees what another node wrote meanwhile', async () => {
    const w = await withSeatedHost();
    const other = w.newRuntime();
    await other.runtime.run(code, join('ann'));
    // Still this node's old snapshot...
    expect((await w.runtime.run(code, { type: 'inspect' })).room.participantCount).toBe(1);
    w.runtime.unloadAll();
    // ...until it forgets it.
    expect((await w.runtime.run(code, { type: 'inspect' })).room.participantCount).toBe(2);
  });

  it('unloadAll also forgets the snapshots set aside: a stale one is never written back', async () => {
    const w = await withSeatedHost();
    w.failLiveState('apply');
    await expect(w.runtime.run(code, join('ann', 'fr'))).rejects.toThrow('Redis apply failed');
    w.runtime.unloadAll();
    expect(w.runtime.retainedRooms()).toEqual([]);
    await w.store.delete(code);
    await w.runtime.run(code, { type: 'inspect' });
    // Not the stale snapshot (the host's socket, Ann's details) but the room as PostgreSQL has it:
    // both in, nobody known to be connected, each with a grace deadline from now.
    const live = await w.store.read(code);
    expect(Object.entries(live.participants).map(([userId, p]) => [userId, p.status, p.language])).toEqual([
      [hostId, 'disconnected', null],
      ['ann', 'disconnected', null],
    ]);
    expect(live.connections).toEqual({});
    expect(Object.keys(live.deadlines).sort()).toEqual([`grace:ann`, `grace:${hostId}`].sort());
    expect(w.runtime.connections()).toEqual([]);
  });

  it('a live state left behind PostgreSQL by a failed write is put right by the next activation', async () => {
    const w = await withSeatedHost();
    await w.runtime.run(code, join('ann', 'fr', true));
    await w.runtime.run(code, attach('ann', 'a1'));
    // Ann leaves: PostgreSQL closes her attendance, the live-state write fails.
    w.failLiveState('apply');
    await expect(w.runtime.run(code, { type: 'leave', userId: 'ann', reason: 'left' })).rejects.toThrow('Redis apply failed');
    expect(Object.keys((await w.store.read(code)).participants)).toContain('ann');

    // The next command reloads the room: PostgreSQL says Ann is gone, and so does Redis now.
    w.clock.now += 1_000;
    const reply = await w.runtime.run(code, { type: 'viewParticipants', by: hostId });
    expect(reply.participants.map((p) => p.userId)).toEqual([hostId]);
    const live = await w.store.read(code);
    expect(Object.keys(live.participants)).toEqual([hostId]);
    expect(Object.keys(live.deadlines).filter((name) => name.includes('ann'))).toEqual([]);
    // The sockets stay recorded, as after a leave that was written (a leave closes no socket).
    expect(live.connections).toEqual({ [hostId]: ['h1'], ann: ['a1'] });
  });

  it('suspend sets every snapshot aside; a live state lost meanwhile is written back as it was', async () => {
    const w = await withSeatedHost();
    await w.runtime.run(code, join('ann', 'fr', true));
    await w.runtime.run(code, attach('ann', 'a1'));
    await w.runtime.run(code, { type: 'setMedia', userId: 'ann', media: { audio: true, video: false } });
    await w.runtime.run(code, { type: 'speakingStarted', userId: 'ann', level: -20 });
    const liveBefore = await w.store.read(code);

    w.runtime.suspend();
    expect(w.runtime.retainedRooms()).toEqual([code]);
    await w.store.delete(code);
    const loads = w.repository.calls.load;
    await w.runtime.run(code, { type: 'inspect' });
    expect(w.repository.calls.load).toBe(loads + 1);
    expect(await w.store.read(code)).toEqual(liveBefore);
    expect(w.runtime.retainedRooms()).toEqual([]);
  });

  it('after suspend, a live state written since (by another node) wins over the snapshot set aside', async () => {
    const w = await withSeatedHost();
    await w.runtime.run(code, join('ann', 'fr'));
    w.runtime.suspend();
    const other = w.newRuntime();
    await other.runtime.run(code, { type: 'leave', userId: 'ann', reason: 'left' });
    const reply = await w.runtime.run(code, { type: 'viewParticipants', by: hostId });
    expect(reply.participants.map((p) => p.userId)).toEqual([hostId]);
    expect(w.runtime.retains(code)).toBe(false);
  });

  it('close waits for the commands in the mailboxes', async () => {
    const w = await withSeatedHost();
    const release = w.repository.blockWrites(code);
    let joined = false;
    const joining = w.runtime.run(code, join('ann')).then(() => (joined = true));
    let closed = false;
    const closing = w.runtime.close().then(() => (closed = true));
    await flush();
    expect(closed).toBe(false);
    release();
    await closing;
    expect(joined).toBe(true);
    await joining;
    expect(w.repository.peek(code)!.attendance.map((a) => a.userId)).toEqual([hostId, 'ann']);
  });

  it('bug: a deadline set by a command that close() waited for fired after close, routing expire to a closed runtime', async () => {
    const w = await withSeatedHost({ timings: { emptyRoomTimeoutMs: 30 } });
    const release = w.repository.blockWrites(code);
    const leaving = w.runtime.run(code, { type: 'leave', userId: hostId, reason: 'left' });
    const closing = w.runtime.close();
    release();
    await closing;
    await leaving;
    // The leave committed and left the empty room a deadline 30 ms away...
    expect((await w.store.read(code)).deadlines).toEqual({ empty_room: w.clock.now + 30 });
    await sleep(150);
    // ...which is the next owner's to run (it arms it on activation), not this closed runtime's.
    expect(w.routed).toEqual([]);
  });

  it('keeps the live state of the rooms it holds from expiring, until closed', async () => {
    jest.useFakeTimers();
    try {
      const w = world({ liveTtlMs: 1_000, refreshEveryMs: 200 });
      await w.repository.create(newRoom());
      const { runtime } = w.newRuntime();
      await runtime.run(code, join(hostId));
      for (let i = 0; i < 25; i++) jest.advanceTimersByTime(200);
      expect(Object.keys((await w.store.read(code)).participants)).toEqual([hostId]);
      await runtime.close();
      jest.advanceTimersByTime(1_000);
      expect(await w.store.read(code)).toEqual(emptyLiveState());
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('room runtime: notices, sockets, ended and unknown rooms', () => {
  it('publishes a command’s notices after both stores have its change', async () => {
    const w = world();
    await w.repository.create(newRoom());
    const seen: { attendance: string[]; live: Promise<string[]> }[] = [];
    const { runtime } = w.newRuntime({
      publish: (_roomCode, notices) => {
        if (!notices.some((n) => n.type === 'participant:joined')) return;
        seen.push({
          attendance: w.repository.peek(code)!.attendance.map((a) => a.userId),
          // The in-process store reads synchronously: this is the live state as the notice goes out.
          live: w.store.read(code).then((live) => Object.keys(live.participants)),
        });
      },
    });
    await runtime.run(code, join(hostId));
    w.clock.now += 1_000;
    await runtime.run(code, join('ann'));
    expect(seen.map((s) => s.attendance)).toEqual([[hostId], [hostId, 'ann']]);
    expect(await Promise.all(seen.map((s) => s.live))).toEqual([[hostId], [hostId, 'ann']]);
  });

  it('a publisher that throws never undoes the command', async () => {
    const w = world();
    await w.repository.create(newRoom());
    const { runtime } = w.newRuntime({
      publish: () => {
        throw new Error('socket layer down');
      },
    });
    expect((await runtime.run(code, join(hostId))).joined).toBe(true);
    expect((await runtime.run(code, { type: 'inspect' })).room.participantCount).toBe(1);
    expect(w.repository.peek(code)!.attendance).toHaveLength(1);
  });

  it('connections() lists the sockets recorded in the rooms held here', async () => {
    const w = await withSeatedHost();
    await w.runtime.run(code, attach(hostId, 'h2'));
    await w.runtime.run(code, join('ann'));
    await w.runtime.run(code, attach('ann', 'a1'));
    expect(w.runtime.connections()).toEqual([
      { roomCode: code, userId: hostId, connectionId: 'h1' },
      { roomCode: code, userId: hostId, connectionId: 'h2' },
      { roomCode: code, userId: 'ann', connectionId: 'a1' },
    ]);
  });

  it('ending a room writes it to PostgreSQL, deletes its live state and lets it go from memory', async () => {
    const w = await withSeatedHost();
    await w.runtime.run(code, join('ann'));
    const reply = await w.runtime.run(code, { type: 'end', by: hostId });
    expect(reply.room).toMatchObject({ status: 'ended', endedAt: w.clock.now, participantCount: 0 });
    expect(w.repository.peek(code)).toMatchObject({ status: 'ended', attendance: [] });
    expect(await w.store.read(code)).toEqual(emptyLiveState());
    await flush();
    expect(w.unloaded).toEqual([[code, false]]);
    expect(w.runtime.connections()).toEqual([]);
    expect(await refusal(w.runtime.run(code, join('bob')))).toBe('ROOM_NOT_FOUND');
  });

  it('an unknown room answers ROOM_NOT_FOUND and is not kept', async () => {
    const w = world();
    const { runtime, unloaded } = w.newRuntime();
    expect(await refusal(runtime.run('nosuchroom12', { type: 'inspect' }))).toBe('ROOM_NOT_FOUND');
    await flush();
    expect(unloaded).toEqual([['nosuchroom12', false]]);
  });
});

/** The node that claimed the room after the first one (epoch 2), over the same stores. */
function nextOwner(w: ReturnType<typeof world>) {
  const now = () => w.clock.now;
  return w.newRuntime({
    store: createRoomStore({
      repository: w.repository,
      liveState: w.store,
      fence: { epochOf: () => 2 },
      outbox: noOutbox,
      timings: defaultTimings,
      logger,
      now,
    }),
  });
}

describe('room runtime: fencing', () => {
  /** A cluster node's claims: the epoch it holds per room, none: StaleOwnerError. */
  const claims = new Map<string, number>();
  const fence: RoomFence = {
    epochOf(roomCode) {
      const epoch = claims.get(roomCode);
      if (epoch === undefined) throw new StaleOwnerError(roomCode, 'no claim');
      return epoch;
    },
  };
  beforeEach(() => claims.clear());

  it('loads and writes with its epoch; once a later claim loaded the room, its writes change nothing', async () => {
    claims.set(code, 1);
    const w = await withSeatedHost({ fence });
    expect(w.repository.epochOf(code)).toBe(1);
    const before = await w.stores();

    await w.repository.load(code, 2); // another node claimed and activated the room
    await expect(w.runtime.run(code, join('ann'))).rejects.toBeInstanceOf(StaleOwnerError);
    expect(await w.stores()).toEqual(before);
    // Its next activation with the old claim is refused too.
    await expect(w.runtime.run(code, { type: 'inspect' })).rejects.toBeInstanceOf(StaleOwnerError);

    claims.set(code, 3); // claimed again
    expect((await w.runtime.run(code, join('ann'))).joined).toBe(true);
    expect(w.repository.epochOf(code)).toBe(3);
  });

  it('a claim that ends between the PostgreSQL commit and the live-state write: the command is answered as done, once, and the next owner has it', async () => {
    claims.set(code, 1);
    const w = await withSeatedHost({ fence });
    const published = w.published.length;
    w.failLiveState('apply', new StaleOwnerError(code, 'the owner record has epoch 2'));

    // Routed again, the join would run a second time on the next owner (refused there, had the host removed Ann meanwhile).
    const reply = await w.runtime.run(code, join('ann'));
    expect(reply.joined).toBe(true);
    expect(w.repository.peek(code)!.attendance.map((a) => a.userId)).toEqual([hostId, 'ann']);
    // Its notices are not sent from a node that no longer holds the room.
    expect(w.published.length).toBe(published);

    const next = nextOwner(w);
    const view = await next.runtime.run(code, { type: 'viewParticipants', by: hostId });
    expect(view.participants.map((p) => p.userId)).toEqual([hostId, 'ann']);
    expect(Object.keys((await w.store.read(code)).participants)).toEqual([hostId, 'ann']);
    // The first node's next command finds the room taken.
    await expect(w.runtime.run(code, { type: 'inspect' })).rejects.toBeInstanceOf(StaleOwnerError);
  });

  it("a change only the live state held, lost to the live state's fence: the command goes to the next owner, while its batch's PostgreSQL change stands", async () => {
    claims.set(code, 1);
    const w = await withSeatedHost({ fence }, { lock_room: true });
    await w.runtime.run(code, join('bob'));
    await w.runtime.run(code, join('carol'));
    w.failLiveState('apply', new StaleOwnerError(code, 'the owner record has epoch 2'));
    // One batch: the admit writes attendance to PostgreSQL, the rejection only the live state.
    const [admitted, rejected] = await Promise.all([
      w.runtime.run(code, { type: 'admit', by: hostId, userId: 'bob' }),
      w.runtime.run(code, { type: 'reject', by: hostId, userId: 'carol' }).then(
        () => 'answered as done',
        (error: unknown) => error,
      ),
    ]);
    expect(admitted.room.participantCount).toBe(2);
    // Answered as done, the rejection would be lost: the next owner would still have Carol waiting.
    expect(rejected).toBeInstanceOf(StaleOwnerError);
    expect(w.repository.peek(code)!.attendance.map((a) => a.userId)).toEqual([hostId, 'bob']);
    expect(Object.keys((await w.store.read(code)).lobby)).toEqual(['bob', 'carol']);

    const next = nextOwner(w);
    // Routed again, it runs on the room as the next owner has it: Bob in, Carol waiting.
    await next.runtime.run(code, { type: 'reject', by: hostId, userId: 'carol' });
    const live = await w.store.read(code);
    expect(Object.keys(live.lobby)).toEqual([]);
    expect(Object.keys(live.participants).sort()).toEqual([hostId, 'bob'].sort());
  });

  it('without a claim it touches neither store', async () => {
    const w = world({ fence });
    await w.repository.create(newRoom());
    const { runtime } = w.newRuntime();
    await expect(runtime.run(code, join(hostId))).rejects.toBeInstanceOf(StaleOwnerError);
    expect(w.repository.calls).toMatchObject({ load: 0, apply: 0 });
    expect(await w.stores()).toEqual({ postgres: expect.objectContaining({ status: 'pending' }), live: emptyLiveState() });
  });
});
