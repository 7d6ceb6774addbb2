import type { RequestHandler } from 'express';
import { Passport } from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { AppError } from '../errors/app-error';
import { principalOf, type Accounts } from './accounts';
import { describeJwtError, type Principal, type TokenService } from './tokens';

declare global {
  // passport puts the authenticated principal on `req.user`.
  namespace Express {
    interface User extends Principal {}
  }
}

/**
 * Express middleware that requires `Authorization: Bearer <token>` whose account still exists,
 * and sets `req.user`. A passport instance of its own (no global state), stateless (no sessions).
 */
export function createAuthenticate(tokens: TokenService, accounts: Accounts): RequestHandler {
  const passport = new Passport();
  passport.use(
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        // passport-jwt hands the key straight to jsonwebtoken, which takes a KeyObject.
        secretOrKey: tokens.key as unknown as string,
        algorithms: tokens.algorithms,
      },
      (claims: unknown, done: (error: unknown, user?: Principal) => void) => {
        // Claims that do not fit throw here, synchronously: a refusal like any other.
        Promise.resolve()
          .then(() => principalOf(tokens.subjectFromClaims(claims), accounts))
          .then((principal) => done(null, principal), done);
      },
    ),
  );
  return (req, res, next) => {
    passport.authenticate('jwt', { session: false }, (error: unknown, user: Principal | false, info: unknown) => {
      // A refusal (AppError) or an outage of PostgreSQL (503 UNAVAILABLE, by the error handler).
      if (error) return next(error);
      if (!user) {
        const detail = info instanceof Error ? describeJwtError(info) : 'A valid bearer token is required';
        return next(new AppError('UNAUTHENTICATED', detail));
      }
      req.user = user;
      next();
    })(req, res, next);
  };
}
