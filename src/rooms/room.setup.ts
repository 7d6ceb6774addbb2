import { assertEvent, assign, setup, stateIn, type ExtractEvent } from 'xstate';
import {
  admit,
  admitWaiting,
  askToMute,
  configure,
  coolingDown,
  dropFromLobby,
  endRoom,
  enterLobby,
  rejectWaiting,
  seat,
  setCoHost,
  startRoom,
  startRoomWith,
  unseat,
  type Seated,
} from './lobby.steps';
import { connect, disconnect, expireGrace, setHardware, setMedia } from './presence.steps';
import { mediaSocketOf, relaySignal } from './rtc.steps';
import { freeSeats, seesParticipants, type Step } from './step-helpers';
import { moderates, type DurableChange, type Refusal, type RoomContext, type RoomEvent, type RoomInput, type RoomNotice } from './room.types';
import { scheduleRefusal, warnOfClosing } from './schedule.steps';
import { startSpeaking, stopSpeaking } from './speaker.steps';

/**
 * What the room machine (room.machine.ts) is made of: its types, its guards (the questions it
 * asks of a command) and its named actions (each applies one pure step of lobby.steps.ts,
 * presence.steps.ts, speaker.steps.ts or rtc.steps.ts, or arms or clears a deadline). The
 * machine file says which of them run on which command in which state.
 */

const targetOf = (event: RoomEvent): string | undefined => ('userId' in event ? (event.userId ?? undefined) : undefined);

const base = setup({
  types: {} as { context: RoomContext; events: RoomEvent; input: RoomInput; emitted: RoomNotice },
  actions: {
    /** Implemented by the room runtime: written to PostgreSQL before the snapshot is adopted. */
    persist: (_args, _change: DurableChange) => {},
    /** Marks the command refused; the runtime drops the snapshot and answers with the refusal. */
    refuse: assign((_args, refusal: Refusal) => ({ refusal })),
    /** A rejected user knocking again within LOBBY_REJECT_COOLDOWN_S: the refusal says how long to wait. */
    /** A schedule the host may not set (schedule.steps.ts): the refusal says which field and why. */
    refuseSchedule: assign(({ context, event }) => ({
      refusal: {
        code: 'VALIDATION_FAILED' as const,
        detail: (event.type === 'configure' && scheduleRefusal(context, event.schedule, event.at)) || 'bad schedule',
      },
    })),
    refuseKnock: assign(({ context, event }) => {
      const waitS = Math.ceil(((context.knockCooldowns[targetOf(event) ?? ''] ?? event.at) - event.at) / 1000);
      return { refusal: { code: 'LOBBY_COOLDOWN' as const, detail: `You were turned away; you may ask to join again in ${waitS} s` } };
    }),
  },
  guards: {
    byHost: ({ context, event }) => 'by' in event && event.by === context.hostId,
    /** The host, or a co-host in the room. */
    byModerator: ({ context, event }) => 'by' in event && moderates(context.hostId, event.by, context.participants[event.by]?.role),
    isCoHost: ({ context, event }) => context.participants[targetOf(event) ?? '']?.role === 'co_host',
    isHost: ({ context, event }) => targetOf(event) === context.hostId,
    /** The joiner holds a valid invitation to this room. */
    invited: ({ event }) => event.type === 'join' && event.invited === true,
    isBanned: ({ context, event }) => context.removed.includes(targetOf(event) ?? ''),
    coolingDown: ({ context, event }) => coolingDown(context, targetOf(event) ?? '', event.at),
    isPresent: ({ context, event }) => Object.hasOwn(context.participants, targetOf(event) ?? ''),
    isWaiting: ({ context, event }) => Object.hasOwn(context.lobby, targetOf(event) ?? ''),
    hasFreeSeat: ({ context }) => freeSeats(context) > 0,
    /** A command about everyone (`userId: null`) rather than one user. */
    namesNobody: ({ event }) => 'userId' in event && event.userId === null,
    lobbyNotEmpty: ({ context }) => Object.keys(context.lobby).length > 0,
    roomLocked: stateIn({ admission: 'locked' }),
    roomEnded: stateIn({ lifecycle: 'ended' }),
    badSchedule: ({ context, event }) => event.type === 'configure' && scheduleRefusal(context, event.schedule, event.at) !== null,
    locks: ({ event }) => event.type === 'configure' && event.settings.lock_room === true,
    unlocks: ({ event }) => event.type === 'configure' && event.settings.lock_room === false,
    mayViewParticipants: ({ context, event }) => 'by' in event && seesParticipants(context, event.by),
    /** The signal comes from the sender's media socket (rtc.steps.ts). */
    fromMediaSocket: ({ context, event }) => event.type === 'signal' && mediaSocketOf(context, event.userId) === event.connectionId,
    signalsSelf: ({ event }) => event.type === 'signal' && event.to === event.userId,
    signalsParticipant: ({ context, event }) => event.type === 'signal' && Object.hasOwn(context.participants, event.to),
    nobodyIn: ({ context }) => Object.keys(context.participants).length === 0,
    oneIn: ({ context }) => Object.keys(context.participants).length === 1,
    severalIn: ({ context }) => Object.keys(context.participants).length > 1,
    hasFloor: ({ context }) => context.activeSpeaker !== null,
    emptyDeadlinePassed: ({ context, event }) =>
      context.emptyDeadline !== null && event.at >= context.emptyDeadline && Object.keys(context.participants).length === 0,
    unusedDeadlinePassed: ({ context, event }) => context.unusedDeadline !== null && event.at >= context.unusedDeadline,
    closingDeadlinePassed: ({ context, event }) => context.closingDeadline !== null && event.at >= context.closingDeadline,
    soloDeadlinePassed: ({ context, event }) =>
      context.soloDeadline !== null && event.at >= context.soloDeadline && Object.keys(context.participants).length === 1,
  },
});

/** The command(s) of the given type(s), as xstate narrows them. */
type EventOf<T extends RoomEvent['type']> = ExtractEvent<RoomEvent, T>;

/**
 * An action that applies a pure step: the context patch, then the durable changes, then the
 * notices. `on` names the commands it is used on; the step gets the event narrowed to those.
 */
const fromStep = <T extends RoomEvent['type']>(on: T | T[], compute: (context: RoomContext, event: EventOf<T>, room: { locked: boolean }) => Step) =>
  base.enqueueActions(({ context, event, enqueue, check }) => {
    assertEvent(event, on);
    // The admission state, for the steps whose output includes the settings (the lock is a state, not context).
    const step = compute(context, event, { locked: check('roomLocked') });
    // An empty patch would still make a new context object, and the runtime reads that as a change.
    if (Object.keys(step.context).length > 0) enqueue.assign(step.context);
    for (const change of step.persist) enqueue({ type: 'persist', params: change });
    for (const notice of step.notices) enqueue.emit(notice);
  });

const joiner = (e: EventOf<'join'>): Seated => ({ userId: e.userId, displayName: e.displayName, language: e.language, hardwareReady: e.hardwareReady });

// The step actions enqueue `persist`, so they are declared on a setup that already has it: an
// action cannot be typed against its siblings in the same setup() (xstate issue #4820).
export const room = base.extend({
  actions: {
    seatJoiner: fromStep('join', (c, e) => seat([joiner(e)], e.at)(c)),
    waitForHost: fromStep('join', (c, e) => enterLobby(joiner(e), e.at, 'host_not_started', e.invited === true)(c)),
    waitWhileLocked: fromStep('join', (c, e) => enterLobby(joiner(e), e.at, 'locked', e.invited === true)(c)),
    startRoomWithHost: fromStep('join', (c, e, { locked }) => startRoomWith(joiner(e), e.at, locked)(c)),
    startRoom: fromStep(['admit', 'admitAll'], (c, e, { locked }) => startRoom(e.at, locked)(c)),
    admitTarget: fromStep('admit', (c, e) => admit(e.userId, e.at)(c)),
    admitLobby: fromStep(['admitAll', 'configure'], (c, e) => admitWaiting(e.at)(c)),
    reject: fromStep('reject', (c, e) => dropFromLobby(e.userId, 'lobby:rejected', e.at)(c)),
    rejectLobby: fromStep('rejectAll', (c, e) => rejectWaiting(e.at)(c)),
    askToMute: fromStep('requestMute', (c, e) => askToMute(e.by, e.userId, e.at)(c)),
    remove: fromStep('remove', (c, e) => unseat(e.userId, 'removed', e.at)(c)),
    setCoHost: fromStep('setCoHost', (c, e) => setCoHost(e.userId, e.coHost)(c)),
    leaveRoom: fromStep('leave', (c, e) => unseat(e.userId, e.reason, e.at)(c)),
    leaveLobby: fromStep(['leave', 'cancelWaiting'], (c, e) => dropFromLobby(e.userId, 'lobby:left', e.at)(c)),
    attachSocket: fromStep('attach', (c, e) => connect(e.userId, e.connectionId)(c)),
    detachSocket: fromStep('detach', (c, e) => disconnect(e.userId, e.connectionId, e.at)(c)),
    setHardware: fromStep('setHardware', (c, e) => setHardware(e.userId, e.hardwareReady)(c)),
    setMedia: fromStep('setMedia', (c, e) => setMedia(e.userId, e.media)(c)),
    relaySignal: fromStep('signal', (c, e) => relaySignal(e.userId, e.to, e.signal)(c)),
    expireGraces: fromStep('expire', (c, e) => expireGrace(e.at)(c)),
    endRoom: fromStep(['end', 'expire'], (c, e) => endRoom(e.at)(c)),
    reconfigure: fromStep('configure', (c, e, { locked }) => configure(e.settings, e.schedule, locked, e.at)(c)),
    warnOfClosing: fromStep('expire', (c, e) => warnOfClosing(e.at)(c)),
    startSpeaking: fromStep('speakingStarted', (c, e) => startSpeaking(e.userId, e.level, e.at)(c)),
    stopSpeaking: fromStep('speakingStopped', (c, e) => stopSpeaking(e.userId, e.at)(c)),
    armEmptyDeadline: base.assign({ emptyDeadline: ({ context, event }) => event.at + context.timings.emptyRoomTimeoutMs }),
    clearEmptyDeadline: base.assign({ emptyDeadline: null }),
    // SOLO_ROOM_TIMEOUT_S unset (0): a solo room waits for nobody.
    armSoloDeadline: base.assign({
      soloDeadline: ({ context, event }) => (context.timings.soloRoomTimeoutMs > 0 ? event.at + context.timings.soloRoomTimeoutMs : null),
    }),
    clearSoloDeadline: base.assign({ soloDeadline: null }),
    clearUnusedDeadline: base.assign({ unusedDeadline: null }),
  },
});
