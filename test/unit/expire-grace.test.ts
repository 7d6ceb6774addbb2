import fc from 'fast-check';
import { dropFromLobby, unseat } from '../../src/rooms/lobby.steps';
import { dueGraces, expireGrace } from '../../src/rooms/presence.steps';
import type { LobbyEntry, Participant, ParticipantRole, Presence, RoomContext } from '../../src/rooms/room.types';
import { chain, withoutGrace, type Step } from '../../src/rooms/step-helpers';

/**
 * `expireGrace` makes everyone due leave in one pass over copies made once. Whatever the room,
 * its outcome must be what the one-user steps give when chained, each seeing the room the ones
 * before it left: `unseat` for a participant, `dropFromLobby` for a waiting user, and the
 * deadline alone going for anyone else.
 */
const oneByOne =
  (at: number) =>
  (c: RoomContext): Step =>
    chain(
      c,
      ...dueGraces(c, at).map((userId) => (current: RoomContext): Step => {
        if (current.participants[userId]) return unseat(userId, 'disconnected', at)(current);
        if (current.lobby[userId]) return dropFromLobby(userId, 'lobby:left', at)(current);
        return { context: { presence: withoutGrace(current.presence, userId) }, persist: [], notices: [] };
      }),
    );

const hostId = 'host';
const userIds = [hostId, 'u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
const at = 1_000;

/** Where a user is: seated with a role, waiting, or neither; their presence; whether they speak. */
const someone = fc.record({
  place: fc.constantFrom<ParticipantRole | 'lobby' | 'away'>('host', 'co_host', 'guest', 'lobby', 'away'),
  sockets: fc.constantFrom<string[]>([], ['n1#a'], ['n1#a', 'n2#b']),
  graceUntil: fc.constantFrom(null, 500, 1_000, 2_000),
  speaking: fc.boolean(),
});

type Someone = typeof someone extends fc.Arbitrary<infer T> ? T : never;

/** A participant as the steps see one; what they do not read is left plain. */
const seated = (userId: string, role: ParticipantRole, status: Participant['status']): Participant => ({
  userId,
  displayName: userId,
  role,
  status,
  language: null,
  hardwareReady: false,
  joinedAt: 0,
  media: null,
});

const roomOf = (people: Someone[], speakerIndex: number): RoomContext => {
  const participants: Record<string, Participant> = {};
  const lobby: Record<string, LobbyEntry> = {};
  const presence: Record<string, Presence> = {};
  const speaking: Record<string, number> = {};
  people.forEach(({ place, sockets, graceUntil, speaking: speaks }, i) => {
    const userId = userIds[i]!;
    const role = userId === hostId ? 'host' : place === 'host' ? 'guest' : place;
    if (role === 'host' || role === 'co_host' || role === 'guest') {
      participants[userId] = seated(userId, role, sockets.length > 0 ? 'connected' : 'disconnected');
    } else if (role === 'lobby') {
      lobby[userId] = { userId, displayName: userId, language: null, hardwareReady: false, since: i, invited: false };
    }
    if (sockets.length > 0 || graceUntil !== null) presence[userId] = { sockets, graceUntil };
    if (speaks) speaking[userId] = -30;
  });
  const activeSpeaker = userIds[speakerIndex] ?? null;
  return { hostId, participants, lobby, presence, speaking, activeSpeaker, removed: [] } as unknown as RoomContext;
};

describe('expireGrace', () => {
  it('gives what unseat and dropFromLobby give one user after another', () => {
    fc.assert(
      fc.property(fc.array(someone, { minLength: 1, maxLength: userIds.length }), fc.nat(userIds.length), (people, speakerIndex) => {
        const room = roomOf(people, speakerIndex);
        expect(expireGrace(at)(room)).toEqual(oneByOne(at)(room));
      }),
      { numRuns: 500 },
    );
  });

  it('lets three hundred users go whose grace ran out together', () => {
    const people = Array.from({ length: 300 }, (_, i) => `guest-${i}`);
    const room = roomOf([], userIds.length);
    for (const userId of people) {
      room.participants[userId] = seated(userId, 'guest', 'disconnected');
      room.presence[userId] = { sockets: [], graceUntil: at };
    }
    const step = expireGrace(at)(room);
    expect(step.persist).toHaveLength(300);
    expect(step.context.participants).toEqual({});
    expect(step.context.presence).toEqual({});
    expect(step).toEqual(oneByOne(at)(room));
  });
});
