import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error';
import type { Principal, TokenService } from './tokens';

declare global {
  // The authenticated principal, as passport named it: `req.user`.
  namespace Express {
    interface User extends Principal {}
    interface Request {
      user?: User;
    }
  }
}

/** `Authorization: <scheme> <value>`, read as passport-jwt reads it (the scheme in any case). */
const authorizationPattern = /(\S+)\s+(\S+)/;

/** The bearer token of a request, or null. */
function bearerToken(header: string | undefined): string | null {
  const match = header?.match(authorizationPattern);
  return match && match[1]!.toLowerCase() === 'bearer' ? match[2]! : null;
}

/**
 * Express middleware that requires `Authorization: Bearer <token>` and sets `req.user`. Stateless:
 * the token service checks the signature, expiry and claims; every failure is 401 UNAUTHENTICATED
 * with a detail saying why (missing, expired, not valid, malformed).
 */
export function createAuthenticate(tokens: TokenService): RequestHandler {
  return (req, _res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) return next(new AppError('UNAUTHENTICATED', 'A valid bearer token is required'));
    try {
      req.user = tokens.verify(token);
    } catch (error) {
      return next(error instanceof AppError ? error : new AppError('UNAUTHENTICATED'));
    }
    next();
  };
}
