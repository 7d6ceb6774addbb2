import type { ErrorCode, FieldError } from '../contract/errors';

/**
 * What can go wrong, as a stable code: the server's codes (the REST problem `code` and the
 * Socket.IO ack `error.code` are the same catalog), plus two the client itself detects.
 * - `NETWORK_ERROR`: the server could not be reached, or answered something that is not the API.
 * - `TIMEOUT`: a socket event got no answer in time (the connection is down or the server is stuck).
 */
export type MeetingErrorCode = ErrorCode | 'NETWORK_ERROR' | 'TIMEOUT';

/** Every failure of the SDK: switch on `code`; `message` is for people and may change. */
export class MeetingError extends Error {
  override readonly name = 'MeetingError';

  constructor(
    readonly code: MeetingErrorCode,
    message: string,
    /** The HTTP status for REST failures; 0 for socket events and network failures. */
    readonly status = 0,
    /** For VALIDATION_FAILED: which fields were wrong (dotted paths). */
    readonly errors?: FieldError[],
  ) {
    super(message);
  }
}

/** Builds the error from an `application/problem+json` body (or from whatever else came back). */
export function errorFromProblem(status: number, body: unknown): MeetingError {
  if (typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'string') {
    const problem = body as { code: ErrorCode; detail?: string; title?: string; errors?: FieldError[] };
    return new MeetingError(problem.code, problem.detail ?? problem.title ?? problem.code, status, problem.errors);
  }
  return new MeetingError('NETWORK_ERROR', `Unexpected answer from the server (HTTP ${status})`, status);
}
