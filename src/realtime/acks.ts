import type { Logger } from 'pino';
import type { z } from 'zod';
import type { EventError } from '../contract/events';
import { parse } from '../errors/validate';
import { toAppError } from '../errors/to-app-error';
import type { MeetingSocket } from './socket-server';

type Reply = (response: { ok: true; data: unknown } | { ok: false; error: EventError }) => void;

/**
 * Wraps a handler of an acked client event: the payload is validated with its contract schema,
 * and the outcome answers the ack as `{ok: true, data}` or `{ok: false, error: {code, message}}`
 * (the same codes as REST). Unexpected errors are logged in full and answered INTERNAL. A client
 * that sent no ack still gets the effect, just no answer. The listener is the same function for
 * every socket (Socket.IO calls a listener with its socket as `this`), so a socket costs no
 * closures of its own.
 */
export function acked<S extends z.ZodType, R>(schema: S, logger: Logger, handle: (socket: MeetingSocket, payload: z.output<S>) => Promise<R>) {
  return function (this: MeetingSocket, ...args: unknown[]): void {
    const ack = args.findLast((arg): arg is Reply => typeof arg === 'function') ?? (() => {});
    // A client that emits only a callback sent no payload at all.
    const payload = typeof args[0] === 'function' ? undefined : args[0];
    Promise.resolve()
      .then(() => handle(this, parse(schema, payload)))
      .then(
        (data) => ack({ ok: true, data }),
        (error: unknown) => ack({ ok: false, error: toEventError(error, logger) }),
      );
  };
}

/** The `error` of a failed ack. */
export function toEventError(error: unknown, logger: Logger): EventError {
  const { appError, expected } = toAppError(error);
  if (!expected) logger.error({ err: error }, 'socket event failed');
  return { code: appError.code, message: appError.message, ...(appError.errors ? { errors: appError.errors } : {}) };
}
