import { type ErrorCode } from '../contract/errors';
import { AppError } from './app-error';

/**
 * What a client is told about any error, whatever the transport (the Express error handler,
 * Socket.IO acks): AppErrors as they are, outages of a backing service as UNAVAILABLE, anything
 * else as INTERNAL (the caller logs those in full).
 */

// body-parser reports its failures as errors with a `type`; these are the client's fault.
const bodyParserCodes: Record<string, ErrorCode> = {
  'entity.parse.failed': 'MALFORMED_JSON',
  'entity.too.large': 'PAYLOAD_TOO_LARGE',
  'encoding.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'charset.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'request.size.invalid': 'VALIDATION_FAILED',
  'request.aborted': 'VALIDATION_FAILED',
};

// Errors that mean PostgreSQL or Redis is unreachable or saturated: the request may succeed on retry.
// MikroORM reports most of them as a plain DriverException carrying the SQLSTATE in `code`;
// ioredis gives up on a command after its connection failed to come back a few times.
const unavailableErrorNames = new Set(['ConnectionException', 'KnexTimeoutError', 'MaxRetriesPerRequestError']);
const unavailableCodes = new Set([
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
]);

export function isOutage(error: Error): boolean {
  if (unavailableErrorNames.has(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return /Connection terminated/.test(error.message);
  // Class 08 is "connection exception"; 55000 is also how a database refusing connections answers.
  return code.startsWith('08') || unavailableCodes.has(code) || (code === '55000' && /not currently accepting connections/.test(error.message));
}

/**
 * What the JSON body parser refuses (src/http/http-app.ts), as the AppError a client sees: by
 * body-parser's `type`; a 4xx without one is zlib's own error for a body that is not the gzip,
 * deflate or br its content-encoding names, so MALFORMED_JSON. Anything else (a 5xx) is ours and
 * goes on as it is.
 */
export function bodyParserError(error: unknown): unknown {
  // Our own refusals (the `verify` check of http-app.ts) come back as they were thrown.
  if (error instanceof AppError) return error;
  const { type, status } = (error ?? {}) as { type?: unknown; status?: unknown };
  if (typeof type === 'string' && Object.hasOwn(bodyParserCodes, type)) return new AppError(bodyParserCodes[type]!);
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new AppError('MALFORMED_JSON', 'The request body could not be decoded as its content-encoding says');
  return error;
}

/** Maps an error to the AppError a client sees; anything unexpected becomes INTERNAL. */
export function toAppError(error: unknown): { appError: AppError; expected: boolean } {
  if (error instanceof AppError) return { appError: error, expected: true };
  if (error instanceof Error && isOutage(error)) return { appError: new AppError('UNAVAILABLE'), expected: false };
  return { appError: new AppError('INTERNAL', 'Something went wrong on our side'), expected: false };
}
