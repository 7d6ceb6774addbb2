import { nothing, without, type Step } from './step-helpers';
import type { RoomContext } from './room.types';

/**
 * Pure steps for the active speaker (docs/realtime.md "Active speaker"): the floor follows speaking starts and stops
 * from the detectors. See step-helpers.ts for what a step is.
 */

const announceSpeaker = (userId: string | null, at: number): Step => ({
  context: { activeSpeaker: userId },
  persist: [],
  notices: [{ type: 'speaker:changed', userId, at }],
});

/** The floor goes to who starts speaking, unless the speaker still speaks and is louder. */
export const startSpeaking =
  (userId: string, level: number, at: number) =>
  (c: RoomContext): Step => {
    const speaking = { ...c.speaking, [userId]: level };
    const current = c.activeSpeaker;
    const keepsFloor = current === userId || (current !== null && (c.speaking[current] ?? -Infinity) > level);
    if (keepsFloor) return { context: { speaking }, persist: [], notices: [] };
    const step = announceSpeaker(userId, at);
    return { ...step, context: { ...step.context, speaking } };
  };

/**
 * The speaker stays active through silence; but when they stop while others still speak (who
 * started while the speaker was louder), the loudest of those takes the floor.
 */
export const stopSpeaking =
  (userId: string, at: number) =>
  (c: RoomContext): Step => {
    if (!Object.hasOwn(c.speaking, userId)) return nothing();
    const speaking = without(c.speaking, userId);
    const [next] = Object.entries(speaking).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
    if (c.activeSpeaker !== userId || !next) return { context: { speaking }, persist: [], notices: [] };
    const step = announceSpeaker(next[0], at);
    return { ...step, context: { ...step.context, speaking } };
  };
