import { and, not, or } from 'xstate';
import { initialRoomContext, type RefusalCode } from './room.types';
import { room } from './room.setup';

/**
 * The room: every rule of docs/api.md "Meetings" and docs/realtime.md "Presence" and "Active speaker"
 * as one XState machine, and nothing else. It is pure: it never does I/O. The room runtime
 * (room-runtime.ts) feeds it one command at a time through machine-runner.ts, which runs xstate's
 * transition and returns the next snapshot and the effects without running them:
 *
 * - `persist` actions name the durable changes (PostgreSQL) a command makes;
 * - emitted events (`RoomNotice`) are what the room tells its members; each carries what the
 *   realtime layer needs to deliver it (src/realtime/room-publisher.ts);
 * - a refused command sets `context.refusal` (the `refuse` action) and the runtime throws that
 *   snapshot away, so a refused command changes nothing;
 * - the live state (Redis) is a projection of the context, written by the runtime.
 *
 * The rules themselves are pure steps (lobby.steps.ts, presence.steps.ts, speaker.steps.ts); this
 * file says which step runs on which command in which state, each as an action named in room.setup.ts.
 * Time comes in on every event (`at`, the server's clock), so the machine never reads a clock.
 *
 * Each fact lives in one place. The state value carries the room's modes, in three parallel
 * regions: `lifecycle` (pending, active, ended; an active room's occupancy: occupied, solo or
 * empty, whose entry arms and exit clears the room's deadline), `admission` (open or locked: the
 * `lock_room` setting is this state, and the context's settings leave it out) and `speaker`
 * (silent or speaking; `activeSpeaker` in the context says who). `startedAt`/`endedAt` say when,
 * not whether. A restored room computes its state value from the stored facts
 * (machine-runner.ts `restoreRoomSnapshot`).
 */

/** The named `refuse` action, with the refusal as its params; and the refusals used more than once. */
const refuse = (code: RefusalCode, detail: string) => ({ type: 'refuse' as const, params: { code, detail } });
const refuseUnlessHost = { guard: not('byHost'), actions: refuse('NOT_HOST', 'Only the host may do this') };
const refuseUnlessModerator = { guard: not('byModerator'), actions: refuse('NOT_HOST', 'Only the host or a co-host may do this') };
const notLive = refuse('ROOM_NOT_FOUND', 'The room has ended');
const refuseBanned = { guard: 'isBanned' as const, actions: refuse('REMOVED_FROM_ROOM', 'You were removed from this room') };
const idempotent = <G extends 'isPresent' | 'isWaiting'>(guard: G) => ({ guard, actions: [] });
const notWaiting = refuse('NOT_IN_LOBBY', 'This user is not waiting in the lobby');
const refuseBadSchedule = { guard: 'badSchedule' as const, actions: 'refuseSchedule' as const };
const roomFull = refuse('ROOM_FULL', 'The room has reached its participant limit');

export const roomMachine = room.createMachine({
  id: 'room',
  context: ({ input }) => initialRoomContext(input),
  type: 'parallel',
  states: {
    lifecycle: {
      initial: 'pending',
      // Handlers shared by `pending` and `active`; `ended` overrides them.
      on: {
        viewParticipants: [{ guard: 'mayViewParticipants' }, { actions: refuse('NOT_A_PARTICIPANT', 'Only participants may see who is in the room') }],
        leave: [
          { guard: 'isPresent', actions: 'leaveRoom' },
          { guard: 'isWaiting', actions: 'leaveLobby' },
          // Leaving a room one is not in is a no-op: leave is idempotent.
        ],
        cancelWaiting: [
          { guard: 'isWaiting', actions: 'leaveLobby' },
          { guard: 'isPresent', actions: refuse('NOT_IN_LOBBY', 'You are in the room, not in its lobby; leave the room instead') },
        ],
        attach: [
          refuseBanned,
          { guard: or(['isPresent', 'isWaiting']), actions: 'attachSocket' },
          { actions: refuse('NOT_A_PARTICIPANT', 'Join the room (POST /join) before attaching to it') },
        ],
        detach: { actions: 'detachSocket' },
        setHardware: [
          { guard: or(['isPresent', 'isWaiting']), actions: 'setHardware' },
          { actions: refuse('NOT_A_PARTICIPANT', 'Only participants and waiting users have hardware status') },
        ],
        expire: { actions: 'expireGraces' },
        reject: [refuseUnlessModerator, { guard: 'isWaiting', actions: 'reject' }, { actions: notWaiting }],
        rejectAll: [refuseUnlessModerator, { actions: 'rejectLobby' }],
        requestMute: [
          refuseUnlessModerator,
          { guard: 'namesNobody', actions: 'askToMute' },
          { guard: 'isPresent', actions: 'askToMute' },
          { actions: refuse('NOT_A_PARTICIPANT', 'This user is not in the room') },
        ],
        remove: [
          refuseUnlessModerator,
          { guard: 'isHost', actions: refuse('VALIDATION_FAILED', 'The host cannot be removed; the host may leave or end the room instead') },
          { guard: and(['isCoHost', not('byHost')]), actions: refuse('NOT_HOST', 'Only the host may remove a co-host') },
          { guard: 'isPresent', actions: 'remove' },
          { actions: refuse('NOT_A_PARTICIPANT', 'This user is not in the room') },
        ],
        setCoHost: [
          refuseUnlessHost,
          { guard: 'isHost', actions: refuse('VALIDATION_FAILED', 'The host is the host; co-hosts are other participants') },
          { guard: 'isPresent', actions: 'setCoHost' },
          { actions: refuse('NOT_A_PARTICIPANT', 'This user is not in the room') },
        ],
        setMedia: [
          { guard: 'isPresent', actions: 'setMedia' },
          { actions: refuse('NOT_A_PARTICIPANT', 'Only participants in the room take part in its call') },
        ],
        // docs/calls.md "Signaling": seated participants only, each from their media socket, to another participant.
        signal: [
          { guard: not('isPresent'), actions: refuse('NOT_A_PARTICIPANT', 'Only participants in the room may send call signals') },
          { guard: not('fromMediaSocket'), actions: refuse('SUPERSEDED', 'Another of your sockets attached to this room later and carries your media') },
          { guard: 'signalsSelf', actions: refuse('VALIDATION_FAILED', 'A signal goes to another participant') },
          { guard: not('signalsParticipant'), actions: refuse('NOT_A_PARTICIPANT', 'The user you signal is not in the room') },
          { actions: 'relaySignal' },
        ],
        end: [refuseUnlessHost, { target: '.ended', actions: 'endRoom' }],
        configure: [refuseUnlessHost, refuseBadSchedule, { actions: 'reconfigure' }],
      },
      states: {
        pending: {
          // A room nobody starts ends by itself (UNUSED_ROOM_TIMEOUT_S after its creation); starting it lets that go.
          exit: 'clearUnusedDeadline',
          on: {
            expire: [{ guard: 'unusedDeadlinePassed', target: 'ended', actions: 'endRoom' }, { actions: 'expireGraces' }],
            join: [
              refuseBanned,
              // The host starts the room; waiting users come in with them unless the room is locked.
              { guard: 'isHost', target: 'active', actions: 'startRoomWithHost' },
              idempotent('isWaiting'),
              { guard: 'coolingDown', actions: 'refuseKnock' },
              { actions: 'waitForHost' },
            ],
            // The host letting someone in starts the meeting, as joining would.
            admit: [refuseUnlessModerator, { guard: 'isWaiting', target: 'active', actions: ['startRoom', 'admitTarget'] }, { actions: notWaiting }],
            admitAll: [refuseUnlessModerator, { guard: 'lobbyNotEmpty', target: 'active', actions: ['startRoom', 'admitLobby'] }, {}],
          },
        },
        active: {
          // Who is in: an empty active room ends by itself once its deadline passes (the scheduler
          // sends `expire`), and so does a solo one when SOLO_ROOM_TIMEOUT_S is set. Entering the
          // state arms its deadline and leaving it clears it; the head count moves between them.
          initial: 'occupied',
          states: {
            occupied: {
              always: [
                { guard: 'nobodyIn', target: 'empty' },
                { guard: 'oneIn', target: 'solo' },
              ],
            },
            solo: {
              entry: 'armSoloDeadline',
              exit: 'clearSoloDeadline',
              always: [
                { guard: 'nobodyIn', target: 'empty' },
                { guard: 'severalIn', target: 'occupied' },
              ],
            },
            empty: {
              entry: 'armEmptyDeadline',
              exit: 'clearEmptyDeadline',
              always: [
                { guard: 'oneIn', target: 'solo' },
                { guard: 'severalIn', target: 'occupied' },
              ],
            },
          },
          on: {
            join: [
              refuseBanned,
              idempotent('isPresent'),
              // The host always gets in, whatever the cap or the lock.
              { guard: 'isHost', actions: 'seatJoiner' },
              // An invitation skips a locked room's lobby, never its cap.
              { guard: and(['roomLocked', 'invited', 'hasFreeSeat']), actions: 'seatJoiner' },
              { guard: and(['roomLocked', 'isWaiting']), actions: [] },
              { guard: and(['roomLocked', 'invited']), actions: roomFull },
              { guard: and(['roomLocked', 'coolingDown']), actions: 'refuseKnock' },
              { guard: 'roomLocked', actions: 'waitWhileLocked' },
              { guard: 'hasFreeSeat', actions: 'seatJoiner' },
              idempotent('isWaiting'),
              { actions: roomFull },
            ],
            admit: [
              refuseUnlessModerator,
              idempotent('isPresent'),
              { guard: and(['isWaiting', 'hasFreeSeat']), actions: 'admitTarget' },
              { guard: 'isWaiting', actions: roomFull },
              { actions: notWaiting },
            ],
            admitAll: [refuseUnlessModerator, { actions: 'admitLobby' }],
            configure: [
              refuseUnlessHost,
              refuseBadSchedule,
              // Unlocking lets everyone waiting in, as far as seats allow.
              { guard: and(['roomLocked', 'unlocks']), actions: ['reconfigure', 'admitLobby'] },
              { actions: 'reconfigure' },
            ],
            expire: [
              { guard: or(['emptyDeadlinePassed', 'soloDeadlinePassed', 'closingDeadlinePassed']), target: 'ended', actions: 'endRoom' },
              { actions: ['expireGraces', 'warnOfClosing'] },
            ],
            // docs/realtime.md "Active speaker". Speaking starts and stops come from the detectors on the socket nodes.
            speakingStarted: { guard: 'isPresent', actions: 'startSpeaking' },
            speakingStopped: { actions: 'stopSpeaking' },
          },
        },
        ended: {
          on: {
            join: { actions: notLive },
            admit: { actions: notLive },
            admitAll: { actions: notLive },
            reject: { actions: notLive },
            rejectAll: { actions: notLive },
            requestMute: { actions: notLive },
            remove: { actions: notLive },
            setCoHost: { actions: notLive },
            configure: { actions: notLive },
            // Ending again answers with the first end: `ended_at` does not move.
            end: [refuseUnlessHost, {}],
            // Nobody is in an ended room (ending closed every attendance), so there is nothing to leave.
            leave: { actions: notLive },
            cancelWaiting: {},
            attach: { actions: notLive },
            setHardware: { actions: notLive },
            signal: { actions: notLive },
            setMedia: { actions: notLive },
            detach: {},
            expire: {},
          },
        },
      },
    },
    // Whether guests come straight in (open) or wait in the lobby for a moderator (locked): the
    // `lock_room` setting is this state, changed by the host's `configure` (the lifecycle region
    // answers it, refusing anyone else and an ended room, and lets the lobby in on unlocking).
    admission: {
      initial: 'open',
      states: {
        open: { on: { configure: { guard: and(['byHost', not('roomEnded'), 'locks']), target: 'locked' } } },
        locked: { on: { configure: { guard: and(['byHost', not('roomEnded'), 'unlocks']), target: 'open' } } },
      },
    },
    // Whether someone has the floor; the context says who (`activeSpeaker`, speaker.steps.ts).
    speaker: {
      initial: 'silent',
      states: {
        silent: { always: { guard: 'hasFloor', target: 'speaking' } },
        speaking: { always: { guard: not('hasFloor'), target: 'silent' } },
      },
    },
  },
});
