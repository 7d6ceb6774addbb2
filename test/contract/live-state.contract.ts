import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { emptyLiveState, type LiveLobbyEntry, type LiveParticipant, type LiveStateStore } from '../../src/live-state/live-state';

/** A store under test and how to release it. */
export interface LiveStateStoreHandle {
  store: LiveStateStore;
  close(): Promise<void>;
}

/** A fresh room code shaped like the real ones (9 random bytes, base64url, 12 characters). */
export const randomRoomCode = (): string => randomBytes(9).toString('base64url');

/** A participant value with every field set; override what the test is about. */
export const participant = (overrides: Partial<LiveParticipant> = {}): LiveParticipant => ({
  status: 'connected',
  language: 'en',
  hardware_ready: true,
  display_name: 'Ada',
  role: 'guest',
  joined_at: '2025-01-02T03:04:05.678Z',
  media: { audio: true, video: false },
  ...overrides,
});

/** A lobby entry with every field set; override what the test is about. */
export const lobbyEntry = (overrides: Partial<LiveLobbyEntry> = {}): LiveLobbyEntry => ({
  display_name: 'Grace',
  language: null,
  hardware_ready: false,
  since: '2025-01-02T03:04:00.000Z',
  ...overrides,
});

// Long enough that nothing expires by accident; the TTL tests use their own short one.
const LONG_TTL_MS = 60_000;
// TTL tests sleep in steps of a third of this; 100 ms of slack absorbs timer and network jitter.
const SHORT_TTL_MS = 300;

/**
 * The behaviour every LiveStateStore must have (docs/operations.md "Redis keys"), run once per implementation.
 * `makeStore` is called per test, so each test may choose its TTL.
 */
export function liveStateContract(name: string, makeStore: (ttlMs: number) => Promise<LiveStateStoreHandle>): void {
  describe(`LiveStateStore contract: ${name}`, () => {
    const opened: LiveStateStoreHandle[] = [];
    const open = async (ttlMs = LONG_TTL_MS): Promise<LiveStateStore> => {
      const handle = await makeStore(ttlMs);
      opened.push(handle);
      return handle.store;
    };

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((handle) => handle.close()));
    });

    it('reads an unknown room as empty', async () => {
      const store = await open();
      expect(await store.read(randomRoomCode())).toEqual(emptyLiveState());
    });

    it('round-trips every part of a room', async () => {
      const store = await open();
      const room = randomRoomCode();
      await store.apply(room, {
        participants: { set: { u1: participant({ role: 'host' }), u2: participant({ status: 'disconnected', language: null, hardware_ready: false }) } },
        lobby: { set: { u3: lobbyEntry(), u4: lobbyEntry({ display_name: 'Linus', language: 'fi', hardware_ready: true }) } },
        activeSpeaker: 'u1',
        deadlines: { set: { empty_room: 1_700_000_000_123 } },
        connections: { set: { u1: ['s1', 's2'], u3: ['s3'] } },
        knockCooldowns: { set: { u5: 1_700_000_000_456 } },
      });

      expect(await store.read(room)).toEqual({
        participants: { u1: participant({ role: 'host' }), u2: participant({ status: 'disconnected', language: null, hardware_ready: false }) },
        lobby: { u3: lobbyEntry(), u4: lobbyEntry({ display_name: 'Linus', language: 'fi', hardware_ready: true }) },
        activeSpeaker: 'u1',
        deadlines: { empty_room: 1_700_000_000_123 },
        connections: { u1: ['s1', 's2'], u3: ['s3'] },
        knockCooldowns: { u5: 1_700_000_000_456 },
      });
    });

    it('clears the active speaker with null and leaves it alone when undefined', async () => {
      const store = await open();
      const room = randomRoomCode();
      await store.apply(room, { participants: { set: { u1: participant() } }, activeSpeaker: 'u1' });

      await store.apply(room, { activeSpeaker: undefined, deadlines: { set: { d: 1 } } });
      expect((await store.read(room)).activeSpeaker).toBe('u1');
      await store.apply(room, {});
      expect((await store.read(room)).activeSpeaker).toBe('u1');

      await store.apply(room, { activeSpeaker: null });
      expect((await store.read(room)).activeSpeaker).toBeNull();
      expect((await store.read(room)).participants).toEqual({ u1: participant() });
    });

    it('leaves the parts a change does not mention untouched', async () => {
      const store = await open();
      const room = randomRoomCode();
      await store.apply(room, {
        participants: { set: { u1: participant() } },
        lobby: { set: { u2: lobbyEntry() } },
        activeSpeaker: 'u1',
        deadlines: { set: { empty_room: 5 } },
      });

      await store.apply(room, { participants: { set: { u9: participant({ display_name: 'New' }) } } });
      await store.apply(room, { deadlines: { set: { grace_u1: 7 } } });

      expect(await store.read(room)).toEqual({
        participants: { u1: participant(), u9: participant({ display_name: 'New' }) },
        lobby: { u2: lobbyEntry() },
        activeSpeaker: 'u1',
        deadlines: { empty_room: 5, grace_u1: 7 },
        connections: {},
        knockCooldowns: {},
      });
    });

    it('replaces and deletes entries; a key both deleted and set ends up set', async () => {
      const store = await open();
      const room = randomRoomCode();
      await store.apply(room, {
        participants: { set: { u1: participant(), u2: participant(), u3: participant() } },
        lobby: { set: { l1: lobbyEntry(), l2: lobbyEntry() } },
        deadlines: { set: { a: 1, b: 2 } },
        connections: { set: { u1: ['s1'], u2: ['s2'] } },
      });

      await store.apply(room, {
        participants: { set: { u1: participant({ status: 'disconnected' }), u3: participant({ display_name: 'Back' }) }, delete: ['u2', 'u3', 'nobody'] },
        lobby: { delete: ['l1'] },
        deadlines: { delete: ['a'] },
        connections: { set: { u1: ['s1', 's9'] }, delete: ['u2'] },
      });

      expect(await store.read(room)).toEqual({
        participants: { u1: participant({ status: 'disconnected' }), u3: participant({ display_name: 'Back' }) },
        lobby: { l2: lobbyEntry() },
        activeSpeaker: null,
        deadlines: { b: 2 },
        connections: { u1: ['s1', 's9'] },
        knockCooldowns: {},
      });
    });

    it('reads a room whose entries were all deleted as empty', async () => {
      const store = await open();
      const room = randomRoomCode();
      await store.apply(room, { participants: { set: { u1: participant() } }, lobby: { set: { u2: lobbyEntry() } } });
      await store.apply(room, { participants: { delete: ['u1'] }, lobby: { delete: ['u2'] } });
      expect(await store.read(room)).toEqual(emptyLiveState());
    });

    it('does not let callers mutate stored state through the objects they pass or get', async () => {
      const store = await open();
      const room = randomRoomCode();
      const change = { participants: { set: { u1: participant() } }, lobby: { set: { u2: lobbyEntry() } }, deadlines: { set: { d: 1 } } };
      await store.apply(room, change);
      change.participants.set.u1.display_name = 'changed after apply';
      change.lobby.set.u2.hardware_ready = true;
      change.deadlines.set.d = 2;

      const read = await store.read(room);
      read.participants.u1!.status = 'disconnected';
      read.lobby.u2!.display_name = 'changed after read';
      read.deadlines.d = 3;
      read.participants.intruder = participant();

      expect(await store.read(room)).toEqual({
        participants: { u1: participant() },
        lobby: { u2: lobbyEntry() },
        activeSpeaker: null,
        deadlines: { d: 1 },
        connections: {},
        knockCooldowns: {},
      });
    });

    it('deletes every part of a room', async () => {
      const store = await open();
      const room = randomRoomCode();
      await store.apply(room, {
        participants: { set: { u1: participant() } },
        lobby: { set: { u2: lobbyEntry() } },
        activeSpeaker: 'u1',
        deadlines: { set: { d: 1 } },
      });
      await store.delete(room);
      expect(await store.read(room)).toEqual(emptyLiveState());
      // Deleting what is not there is harmless.
      await expect(store.delete(room)).resolves.toBeUndefined();
    });

    it('schedule adds one deadline and leaves the rest of the room as it was', async () => {
      const store = await open();
      const room = randomRoomCode();
      await store.schedule(room, 'unused_room', 5_000);
      expect(await store.read(room)).toEqual({ ...emptyLiveState(), deadlines: { unused_room: 5_000 } });
      await store.apply(room, { participants: { set: { u1: participant() } }, deadlines: { set: { 'grace:u1': 9_000 } } });
      await store.schedule(room, 'empty_room', 7_000);
      const live = await store.read(room);
      expect(live.deadlines).toEqual({ unused_room: 5_000, 'grace:u1': 9_000, empty_room: 7_000 });
      expect(Object.keys(live.participants)).toEqual(['u1']);
    });

    it('keeps rooms apart', async () => {
      const store = await open();
      const [a, b] = [randomRoomCode(), randomRoomCode()];
      await store.apply(a, { participants: { set: { u1: participant() } }, activeSpeaker: 'u1' });
      await store.apply(b, { lobby: { set: { u2: lobbyEntry() } }, deadlines: { set: { d: 1 } } });
      await store.delete(b);

      expect(await store.read(a)).toEqual({
        participants: { u1: participant() },
        lobby: {},
        activeSpeaker: 'u1',
        deadlines: {},
        connections: {},
        knockCooldowns: {},
      });
      expect(await store.read(b)).toEqual(emptyLiveState());
    });

    it('does nothing when refreshing rooms with nothing stored, or no rooms', async () => {
      const store = await open();
      const room = randomRoomCode();
      await store.refresh([room]);
      await store.refresh([]);
      expect(await store.read(room)).toEqual(emptyLiveState());
    });

    describe('expiry', () => {
      const fullChange = {
        participants: { set: { u1: participant() } },
        lobby: { set: { u2: lobbyEntry() } },
        activeSpeaker: 'u1',
        deadlines: { set: { d: 1 } },
        connections: { set: { u1: ['s1'] } },
      };

      it('forgets a room after the TTL', async () => {
        const store = await open(SHORT_TTL_MS);
        const room = randomRoomCode();
        await store.apply(room, fullChange);
        expect((await store.read(room)).activeSpeaker).toBe('u1');
        await sleep(SHORT_TTL_MS + 100);
        expect(await store.read(room)).toEqual(emptyLiveState());
      });

      it('keeps refreshed rooms past the original TTL', async () => {
        const store = await open(SHORT_TTL_MS);
        const [kept, other] = [randomRoomCode(), randomRoomCode()];
        await store.apply(kept, fullChange);
        await store.apply(other, fullChange);
        await sleep(SHORT_TTL_MS - 100);
        await store.refresh([kept, randomRoomCode()]);
        await sleep(200);

        expect(await store.read(kept)).toEqual({
          participants: { u1: participant() },
          lobby: { u2: lobbyEntry() },
          activeSpeaker: 'u1',
          deadlines: { d: 1 },
          connections: { u1: ['s1'] },
          knockCooldowns: {},
        });
        expect(await store.read(other)).toEqual(emptyLiveState());
      });

      it('renews the TTL of what a write writes (refresh renews the rest: above)', async () => {
        const store = await open(SHORT_TTL_MS);
        const room = randomRoomCode();
        await store.apply(room, { participants: { set: { u1: participant() } }, lobby: { set: { u2: lobbyEntry() } } });
        await sleep(SHORT_TTL_MS - 100);
        await store.apply(room, { participants: { set: { u1: participant({ status: 'disconnected' }) } }, lobby: { set: { u3: lobbyEntry() } } });
        await sleep(200);

        const { participants, lobby } = await store.read(room);
        expect({ participants, lobby }).toEqual({
          participants: { u1: participant({ status: 'disconnected' }) },
          lobby: { u2: lobbyEntry(), u3: lobbyEntry() },
        });
      });
    });
  });
}
