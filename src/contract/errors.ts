import { z } from 'zod';

/**
 * The stable error codes of the wire contract (docs/api.md "Errors"), with the HTTP status each maps to.
 * Clients switch on `code`; titles and details are for humans and may change.
 * Socket.IO acks carry the same codes (`{ok: false, error: {code, message}}`).
 */
export const errorCatalog = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication is required' },
  INVALID_CREDENTIALS: { status: 401, title: 'Email or password is wrong' },
  GUESTS_CANNOT_HOST: { status: 403, title: 'Guests cannot create rooms' },
  NOT_HOST: { status: 403, title: 'Only the host may do this' },
  NOT_A_PARTICIPANT: { status: 403, title: 'You are not a participant of this room' },
  REMOVED_FROM_ROOM: { status: 403, title: 'You were removed from this room' },
  INVITATION_INVALID: { status: 403, title: 'This invitation is not valid for this room: revoked, expired, used by someone else, or unknown' },
  NOT_FOUND: { status: 404, title: 'No such resource' },
  ROOM_NOT_FOUND: { status: 404, title: 'No such room' },
  EMAIL_TAKEN: { status: 409, title: 'This email is already registered' },
  ROOM_FULL: { status: 409, title: 'The room is full' },
  NOT_IN_LOBBY: { status: 409, title: 'The user is not waiting in the lobby' },
  SUPERSEDED: { status: 409, title: 'Another of your sockets carries your media in this room' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body encoding is not supported' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  LOBBY_COOLDOWN: { status: 429, title: 'You were turned away from this room a moment ago; ask again later' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  UNAVAILABLE: { status: 503, title: 'A backing service is unavailable; retry shortly' },
  ROOM_TIMEOUT: { status: 504, title: 'The node running the room did not answer in time; the command may or may not have been applied' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

/** One failed field of a VALIDATION_FAILED error; `path` is dotted (`settings.max_participants`), empty for the whole body. */
export const fieldError = z.object({ path: z.string(), message: z.string() });
export type FieldError = z.infer<typeof fieldError>;

/** The `application/problem+json` body of every REST error (RFC 9457 plus `code`). */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.enum(Object.keys(errorCatalog) as [ErrorCode, ...ErrorCode[]]),
  errors: z.array(fieldError).optional(),
});
export type Problem = z.infer<typeof problemSchema>;

/** The `type` URI of a problem: a stable, non-resolvable name per code. */
export const problemType = (code: ErrorCode): string => `urn:meeting-rooms:error:${code.toLowerCase().replaceAll('_', '-')}`;
