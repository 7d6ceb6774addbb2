import { moderatorsOf } from './lobby.steps';
import { dropGrace, joinChannel, nothing, socketsOf, withPresence, type Step } from './step-helpers';
import type { MediaState, Participant, RoomContext, RoomNotice } from './room.types';

/**
 * Pure steps for presence: the sockets a user has attached, the reconnect grace of a user with
 * none, and the hardware status. See step-helpers.ts for what a step is.
 */

/** Replaces a participant with a changed copy and tells the room. */
export const updateMember =
  (userId: string, patch: Partial<Participant>) =>
  (c: RoomContext): Step => {
    const current = c.participants[userId];
    if (!current || (Object.keys(patch) as (keyof Participant)[]).every((key) => current[key] === patch[key])) return nothing();
    const participant = { ...current, ...patch };
    return { context: { participants: { ...c.participants, [userId]: participant } }, persist: [], notices: [{ type: 'participant:updated', participant }] };
  };

/** A participant's microphone and camera, on or off: the room hears of a change. */
export const setMedia =
  (userId: string, media: MediaState) =>
  (c: RoomContext): Step => {
    const current = c.participants[userId]?.media;
    if (current && current.audio === media.audio && current.video === media.video) return nothing();
    return updateMember(userId, { media: { audio: media.audio, video: media.video } })(c);
  };

/** A socket of the user attached: they are connected and have no deadline; a participant's socket joins the channel. */
export const connect =
  (userId: string, connectionId: string) =>
  (c: RoomContext): Step => {
    const sockets = socketsOf(c, userId);
    if (sockets.includes(connectionId)) return nothing();
    const presence = withPresence(c.presence, userId, [...sockets, connectionId], null);
    const step = updateMember(userId, { status: 'connected' })({ ...c, presence });
    // A participant's newest socket carries their media (rtc.steps.ts): the one before it is told.
    const previous = sockets.at(-1);
    const superseded: RoomNotice[] = previous ? [{ type: 'rtc:superseded', connections: [previous] }] : [];
    const notices: RoomNotice[] = c.participants[userId] ? [joinChannel(c, [connectionId]), ...superseded, ...step.notices] : step.notices;
    return { context: { presence, ...step.context }, persist: [], notices };
  };

/** A socket went away; the user's last one starts the reconnect grace. */
export const disconnect =
  (userId: string, connectionId: string, at: number) =>
  (c: RoomContext): Step => {
    const sockets = socketsOf(c, userId);
    if (!sockets.includes(connectionId)) return nothing();
    const rest = sockets.filter((id) => id !== connectionId);
    const member = Boolean(c.participants[userId] || c.lobby[userId]);
    const presence = withPresence(c.presence, userId, rest, rest.length === 0 && member ? at + c.timings.reconnectGraceMs : null);
    const leave: RoomNotice[] = c.participants[userId] ? [{ type: 'channel:leave', connections: [connectionId] }] : [];
    if (rest.length > 0 || !member) return { context: { presence }, persist: [], notices: leave };
    const step = updateMember(userId, { status: 'disconnected' })({ ...c, presence });
    return { context: { presence, ...step.context }, persist: [], notices: [...leave, ...step.notices] };
  };

/** The users whose reconnect grace has run out by `at`, in the presence record's order. */
export const dueGraces = (c: RoomContext, at: number): string[] =>
  Object.entries(c.presence)
    .filter(([, { graceUntil }]) => graceUntil !== null && graceUntil <= at)
    .map(([userId]) => userId);

/**
 * Members and waiting users whose grace has run out leave (`disconnected`; the lobby's just go),
 * each as `unseat` or `dropFromLobby` would have them leave, one after another. In one pass over
 * copies of the room's records made once: a node's death can make a thousand due together, and a
 * step per user would copy the records a thousand times.
 */
export const expireGrace =
  (at: number) =>
  (c: RoomContext): Step => {
    const due = dueGraces(c, at);
    if (due.length === 0) return nothing();
    const next = { participants: { ...c.participants }, lobby: { ...c.lobby }, presence: { ...c.presence }, speaking: { ...c.speaking } };
    let activeSpeaker = c.activeSpeaker;
    let moderators = moderatorsOf(c);
    let [unseated, dropped] = [false, false];
    const step = nothing();
    for (const userId of due) {
      const sockets = next.presence[userId]!.sockets;
      dropGrace(next.presence, userId);
      if (next.participants[userId]) {
        unseated = true;
        delete next.participants[userId];
        delete next.speaking[userId];
        step.persist.push({ kind: 'attendanceClosed', userId, reason: 'disconnected', at });
        step.notices.push({ type: 'participant:left', userId, reason: 'disconnected' });
        if (sockets.length > 0) step.notices.push({ type: 'channel:leave', connections: sockets });
        if (activeSpeaker === userId) {
          activeSpeaker = null;
          step.notices.push({ type: 'speaker:changed', userId: null, at });
        }
        if (moderators.includes(userId)) moderators = moderatorsOf({ ...c, participants: next.participants });
      } else if (next.lobby[userId]) {
        dropped = true;
        delete next.lobby[userId];
        step.notices.push({ type: 'lobby:left', moderators, userId });
      }
    }
    step.context = {
      presence: next.presence,
      ...(unseated ? { participants: next.participants, speaking: next.speaking } : {}),
      ...(dropped ? { lobby: next.lobby } : {}),
      ...(activeSpeaker !== c.activeSpeaker ? { activeSpeaker } : {}),
    };
    return step;
  };

/** A participant's hardware status is told to the room; a waiting user's changes quietly. */
export const setHardware =
  (userId: string, hardwareReady: boolean) =>
  (c: RoomContext): Step => {
    const waiting = c.lobby[userId];
    if (!waiting) return updateMember(userId, { hardwareReady })(c);
    if (waiting.hardwareReady === hardwareReady) return nothing();
    return { context: { lobby: { ...c.lobby, [userId]: { ...waiting, hardwareReady } } }, persist: [], notices: [] };
  };
