import type { RequestHandler } from 'express';
import { Passport } from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { AppError } from '../errors/app-error';
import { describeJwtError, type Principal, type TokenService } from './tokens';

declare global {
  // passport puts the authenticated principal on `req.user`.
  namespace Express {
    interface User extends Principal {}
  }
}

/**
 * Express middleware that requires `Authorization: Bearer <token>` and sets `req.user`.
 * A passport instance of its own (no global state), stateless (no sessions).
 */
export function createAuthenticate(tokens: TokenService): RequestHandler {
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
        try {
          done(null, tokens.principalFromClaims(claims));
        } catch (error) {
          done(error);
        }
      },
    ),
  );
  return (req, res, next) => {
    passport.authenticate('jwt', { session: false }, (error: unknown, user: Principal | false, info: unknown) => {
      if (error) return next(error instanceof AppError ? error : new AppError('UNAUTHENTICATED'));
      if (!user) {
        const detail = info instanceof Error ? describeJwtError(info) : 'A valid bearer token is required';
        return next(new AppError('UNAUTHENTICATED', detail));
      }
      req.user = user;
      next();
    })(req, res, next);
  };
}
