import type { Logger } from 'pino';
import type { z } from 'zod';
import type { EventError } from '../contract/events';
import { parse } from '../contract/validate';
import { toAppError } from '../errors/to-app-error';

type Reply = (response: { ok: true; data: unknown } | { ok: false; error: EventError }) => void;

/**
 * Wraps a handler of an acked client event: the payload is validated with its contract schema,
 * and the outcome answers the ack as `{ok: true, data}` or `{ok: false, error: {code, message}}`
 * (the same codes as REST). Unexpected errors are logged in full and answered INTERNAL. A client
 * that sent no ack still gets the effect, just no answer.
 */
export function acked<S extends z.ZodType, R>(schema: S, logger: Logger, handle: (payload: z.output<S>) => Promise<R>) {
  return (...args: unknown[]): void => {
    const ack = args.findLast((arg): arg is Reply => typeof arg === 'function') ?? (() => {});
    // A client that emits only a callback sent no payload at all.
    const payload = typeof args[0] === 'function' ? undefined : args[0];
    Promise.resolve()
      .then(() => handle(parse(schema, payload)))
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
