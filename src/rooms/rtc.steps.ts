import { socketsOf, type Step } from './step-helpers';
import type { RoomContext, RtcSignalBody } from './room.types';

/**
 * Pure steps for calls (docs/calls.md "Signaling"): the room relays WebRTC signaling between its
 * participants, deciding in the order of its commands who may signal whom, so a removal, a leave
 * or the end cuts a user off from the next signal on. See step-helpers.ts for what a step is.
 *
 * One media peer per user per room: a participant's **media socket** is the socket they attached
 * to the room last. Signals for them go there, and only it may send theirs.
 */
export const mediaSocketOf = (c: RoomContext, userId: string): string | undefined => socketsOf(c, userId).at(-1);

/** Hands a signal to the media socket of `to`, if they have one attached. Changes nothing. */
export const relaySignal =
  (from: string, to: string, signal: RtcSignalBody) =>
  (c: RoomContext): Step => {
    const connection = mediaSocketOf(c, to);
    return { context: {}, persist: [], notices: connection ? [{ type: 'rtc:signal', connection, from, signal }] : [] };
  };
