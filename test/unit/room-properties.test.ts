import fc from 'fast-check';
import { createMemoryLiveStateStore } from '../../src/live-state/memory-live-state';
import { restoreRoomSnapshot, settingsOf } from '../../src/rooms/machine-runner';
import { contextFromStores, liveChange, liveStateOf } from '../../src/rooms/room-projection';
import type { RoomContext, RoomEvent } from '../../src/rooms/room.types';
import { mediaSocketOf } from '../../src/rooms/rtc.steps';
import { createMemoryRoomRepository } from '../support/memory-room-repository';
import { host, room } from '../support/room-machine';

/**
 * Property-based tests of the room machine: random sequences of commands from random users and
 * moderators, on a moving clock, through the step runner (and xstate's own transition, which the
 * harness compares at every step). After every step the room's invariants must hold, whatever
 * came before. A counterexample fast-check finds is shrunk to the shortest sequence that breaks a
 * rule; keep it as a plain test beside the machine's other tests.
 */

const users = [host, 'u1', 'u2', 'u3', 'u4'];
const user = fc.constantFrom(...users);
const guest = fc.constantFrom(...users.slice(1));
/** Each user may have two sockets (tabs); the one attached last carries their media. */
const tab = fc.constantFrom('tab1', 'tab2');

type Command = { kind: 'send'; event: DistributiveOmit<RoomEvent, 'at'> } | { kind: 'wait'; ms: number };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const send = (event: DistributiveOmit<RoomEvent, 'at'>): Command => ({ kind: 'send', event });

const command: fc.Arbitrary<Command> = fc.oneof(
  user.map((userId) => send({ type: 'join', userId, displayName: userId, language: null, hardwareReady: false })),
  fc.tuple(user, guest).map(([by, userId]) => send({ type: 'admit', by, userId })),
  user.map((by) => send({ type: 'admitAll', by })),
  fc.tuple(user, guest).map(([by, userId]) => send({ type: 'reject', by, userId })),
  fc.tuple(user, guest).map(([by, userId]) => send({ type: 'remove', by, userId })),
  fc.tuple(user, guest, fc.boolean()).map(([by, userId, coHost]) => send({ type: 'setCoHost', by, userId, coHost })),
  fc.tuple(user, fc.constantFrom<'left' | 'disconnected'>('left', 'disconnected')).map(([userId, reason]) => send({ type: 'leave', userId, reason })),
  user.map((userId) => send({ type: 'cancelWaiting', userId })),
  fc.tuple(user, tab).map(([userId, t]) => send({ type: 'attach', userId, connectionId: `${userId}-${t}` })),
  fc.tuple(user, tab).map(([userId, t]) => send({ type: 'detach', userId, connectionId: `${userId}-${t}` })),
  // Signals weigh more: one is relayed only between two participants with sockets attached.
  {
    weight: 4,
    arbitrary: fc
      .tuple(user, tab, user)
      .map(([userId, t, to]) => send({ type: 'signal', userId, connectionId: `${userId}-${t}`, to, signal: { description: { type: 'offer', sdp: 'v=0' } } })),
  },
  // Rescheduling: a scheduled end (or none), which the room then keeps to, warning before it.
  fc
    .tuple(user, fc.option(fc.integer({ min: 0, max: 3_000_000 }), { nil: null }))
    .map(([by, endAt]) => send({ type: 'configure', by, settings: { end_at_scheduled_end: true }, schedule: { endAt } })),
  fc.tuple(user, fc.boolean()).map(([by, lock]) => send({ type: 'configure', by, settings: { lock_room: lock } })),
  fc.tuple(user, fc.integer({ min: 2, max: 4 })).map(([by, cap]) => send({ type: 'configure', by, settings: { max_participants: cap } })),
  user.map((by) => send({ type: 'rejectAll', by })),
  fc.tuple(user, fc.option(guest, { nil: null })).map(([by, userId]) => send({ type: 'requestMute', by, userId })),
  fc.tuple(user, fc.boolean()).map(([userId, hardwareReady]) => send({ type: 'setHardware', userId, hardwareReady })),
  fc.tuple(user, fc.boolean(), fc.boolean()).map(([userId, audio, video]) => send({ type: 'setMedia', userId, media: { audio, video } })),
  fc.tuple(user, fc.integer({ min: -60, max: 0 })).map(([userId, level]) => send({ type: 'speakingStarted', userId, level })),
  user.map((userId) => send({ type: 'speakingStopped', userId })),
  user.map((by) => send({ type: 'end', by })),
  fc.integer({ min: 0, max: 40_000 }).map((ms): Command => ({ kind: 'wait', ms })),
);

/** Half the sequences start in a running meeting: the host and two guests in, each with a socket attached. */
const prelude: Command[] = [host, 'u1', 'u2'].flatMap((userId) => [
  send({ type: 'join', userId, displayName: userId, language: null, hardwareReady: false }),
  send({ type: 'admit', by: host, userId }),
  send({ type: 'attach', userId, connectionId: `${userId}-tab1` }),
]);

const guestsSeated = (participants: Record<string, { role: string }>) => Object.values(participants).filter((p) => p.role !== 'host').length;

describe('the room machine, under random sequences of commands', () => {
  it('keeps its invariants after every step', () => {
    let signalsRelayed = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.array(command, { minLength: 1, maxLength: 40 }), (locked, started, commands) => {
        const r = room({ lock_room: locked, max_participants: 3 });
        for (const next of started ? [...prelude, ...commands] : commands) {
          if (next.kind === 'wait') {
            r.advance(next.ms);
            r.send({ type: 'expire' });
            continue;
          }
          const before = r.ctx;
          const wasEnded = r.status === 'ended';
          const result = r.send(next.event);
          const after = r.ctx;

          // An ended room accepts nothing: a command is refused, or (a socket going) changes nothing.
          if (wasEnded && !result.refused) expect([result.changes, result.notices]).toEqual([[], []]);
          // Nobody is both seated and waiting, and nobody removed is either.
          for (const userId of Object.keys(after.lobby)) expect(after.participants).not.toHaveProperty(userId);
          for (const userId of after.removed) {
            expect(after.participants).not.toHaveProperty(userId);
            expect(after.lobby).not.toHaveProperty(userId);
          }
          if (result.refused) continue;
          // A step that seats guests never takes them past the cap (lowering the cap removes nobody).
          if (guestsSeated(after.participants) > guestsSeated(before.participants)) {
            expect(guestsSeated(after.participants)).toBeLessThanOrEqual(after.settings.max_participants);
          }
          // Whoever took a seat is announced; whoever lost one is too (or the room ended for all).
          const notices = result.notices;
          for (const userId of Object.keys(after.participants).filter((id) => !(id in before.participants))) {
            expect(notices).toContainEqual(expect.objectContaining({ type: 'participant:joined', participant: expect.objectContaining({ userId }) }));
          }
          for (const userId of Object.keys(before.participants).filter((id) => !(id in after.participants))) {
            const told = notices.some(
              (n) =>
                (n.type === 'participant:left' && n.userId === userId) ||
                (n.type === 'participant:removed' && n.userId === userId) ||
                (n.type === 'room:ended' && n.userIds.includes(userId)),
            );
            expect(told).toBe(true);
          }
          // A call signal goes from a participant's media socket to another participant's, and nowhere else.
          for (const notice of notices) {
            if (notice.type !== 'rtc:signal') continue;
            signalsRelayed += 1;
            const to = Object.keys(after.participants).find((userId) => mediaSocketOf(after, userId) === notice.connection);
            expect(notice.from in after.participants && to !== undefined && to !== notice.from).toBe(true);
            expect(next.event.type === 'signal' && mediaSocketOf(before, notice.from) === next.event.connectionId).toBe(true);
          }
        }
      }),
      { numRuns: 1500 },
    );
    // The sequences did reach the signal checks (about 70 relayed signals a run).
    expect(signalsRelayed).toBeGreaterThan(10);
  });

  it('comes back from its two stores as it was, after every accepted step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(command, { minLength: 1, maxLength: 30 }), async (locked, commands) => {
        const r = room({ lock_room: locked, max_participants: 3 });
        let now = 1_000; // the harness's clock starts there
        const repository = createMemoryRoomRepository({ displayNameOf: (userId) => userId });
        const live = createMemoryLiveStateStore({ ttlMs: 3_600_000 });
        const { roomId: id, roomCode, name, hostId, createdAt } = r.ctx;
        await repository.create({ id, roomCode, name, hostId, createdAt, schedule: r.ctx.schedule, settings: settingsOf(r.snapshot) });
        try {
          for (const next of commands) {
            if (next.kind === 'wait') {
              r.advance(next.ms);
              now += next.ms;
              continue;
            }
            const before = r.ctx;
            const result = r.send(next.event);
            if (result.refused || !result.changed) continue;
            // As the room's runtime writes a step: its durable changes, then the live state's.
            await repository.apply({ id, roomCode }, result.changes);
            const change = liveChange(before, r.ctx);
            if (change) await live.apply(roomCode, change);
            expect(await live.read(roomCode)).toEqual(liveStateOf(r.ctx));
            const stored = repository.peek(roomCode)!;
            const restored = contextFromStores(stored, await live.read(roomCode), r.ctx.timings, now);
            // All but what lives only in memory (who is speaking right now).
            expect(restored).toEqual({ ...r.ctx, speaking: {}, refusal: null } satisfies RoomContext);
            expect(restoreRoomSnapshot(stored.status, restored, stored.settings.lock_room).value).toEqual(r.snapshot.value);
          }
        } finally {
          live.close();
        }
      }),
      { numRuns: 500 },
    );
  });
});
