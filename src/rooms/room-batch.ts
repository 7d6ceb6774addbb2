import { AppError } from '../errors/app-error';
import { step, type RoomSnapshot } from './machine-runner';
import type { RoomOutcome } from './room-outbox';
import { replyTo, summarize, type RoomCommand } from './room-router';
import type { RoomEvent, RoomNotice } from './room.types';

/** A command in a room's mailbox, and how its caller is answered. */
export interface Letter {
  command: RoomCommand;
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

/**
 * How a command is answered once its batch is written: its reply, or its error (a refusal).
 * `durable`: its change includes PostgreSQL's part (attendance, status, settings), not only the live state's.
 */
type Answer = { ok: true; reply: unknown; durable: boolean } | { ok: false; error: unknown };

/** A room's queued commands, run through the machine one after another. */
export interface Batch {
  /** The room after the last of them. */
  snapshot: RoomSnapshot;
  /** One per command that changed the room, in order: what one commit writes. */
  outcomes: RoomOutcome[];
  /** What members are told, in command order. */
  notices: RoomNotice[];
  /** One per command, in order. */
  answers: Answer[];
  /**
   * The first command that changed the room (the number of commands if none did). Its answer and
   * those after it were computed on state not written yet: if the commit fails, they get its error.
   */
  firstChange: number;
}

/**
 * Runs the commands waiting in a room's mailbox through the pure machine, each on the room as the
 * ones before it left it, so that the room runtime writes them in one commit (one PostgreSQL
 * transaction, one live-state write) instead of one each. A refused command changes nothing and
 * the next one goes on; an `inspect` sees the commands before it.
 */
export function stepBatch(snapshot: RoomSnapshot, letters: readonly Pick<Letter, 'command'>[], now: () => number): Batch {
  const batch: Batch = { snapshot, outcomes: [], notices: [], answers: [], firstChange: letters.length };
  letters.forEach(({ command }, index) => {
    const before = batch.snapshot;
    if (command.type === 'inspect') {
      batch.answers.push({ ok: true, reply: { room: summarize(before) }, durable: false });
      return;
    }
    try {
      const at = now();
      const result = step(before, { ...command, at } as RoomEvent);
      if (result.refused) {
        batch.answers.push({ ok: false, error: new AppError(result.refused.code, result.refused.detail) });
        return;
      }
      if (result.changed) {
        batch.outcomes.push({ before: before.context, after: result.snapshot, changes: result.changes, notices: result.notices, at });
        batch.firstChange = Math.min(batch.firstChange, index);
        batch.snapshot = result.snapshot;
      }
      // A command may tell members something without changing the room (a request to mute).
      batch.notices.push(...result.notices);
      batch.answers.push({ ok: true, reply: replyTo(command, before.context, result.snapshot), durable: result.changed && result.changes.length > 0 });
    } catch (error) {
      batch.answers.push({ ok: false, error });
    }
  });
  return batch;
}

/**
 * Answers a batch's callers once its commit is done. When the room was not written (`unwritten`),
 * the commands from the first change on get its error (their answers were computed on a room that
 * was not written), except, with `durableStands` (PostgreSQL took the batch, the live state's
 * fence refused it), those whose change PostgreSQL holds: the next owner loads them.
 */
export function answer(letters: readonly Letter[], batch: Batch, unwritten?: { error: unknown; durableStands: boolean }): void {
  letters.forEach((letter, index) => {
    const answer = batch.answers[index]!;
    const stands = !unwritten || index < batch.firstChange || (unwritten.durableStands && answer.ok && answer.durable);
    if (!stands) letter.reject(unwritten.error);
    else if (answer.ok) letter.resolve(answer.reply);
    else letter.reject(answer.error);
  });
}

/**
 * Whether a socket was attached to the room before a batch, after it, or in between (one that
 * attached and went again enters the room's channel: a `channel:join`). Sockets of waiting users
 * count too, though they are not in the channel: the answer may say yes when no socket is in it,
 * never no when one is.
 */
export function socketAttached(before: RoomSnapshot, batch: Batch): boolean {
  const attached = (snapshot: RoomSnapshot) => Object.values(snapshot.context.presence).some(({ sockets }) => sockets.length > 0);
  return attached(before) || attached(batch.snapshot) || batch.notices.some((notice) => notice.type === 'channel:join');
}
