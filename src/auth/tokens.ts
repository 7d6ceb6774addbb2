import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { AppError } from '../errors/app-error';

/** Whom a bearer token was issued to, as its signature proves. */
export interface TokenSubject {
  userId: string;
  /** The `guest` claim as signed. What the caller may do is its account's say (accounts.ts principalOf). */
  isGuest: boolean;
}

/** Who is calling: the token's subject, whose account still exists, with `isGuest` from that account (auth/accounts.ts). */
export interface Principal extends TokenSubject {
  displayName: string;
}

const algorithm = 'HS256';
const claimsSchema = z.object({ sub: z.uuid(), guest: z.boolean(), exp: z.number() });

/** Signs and checks access tokens (HS256 JWTs carrying `sub`, `guest` and `exp`). */
export interface TokenService {
  issue(user: { id: string; isGuest: boolean }): { token: string; expiresIn: number };
  verify(token: string): TokenSubject;
  /** Maps verified claims to their subject; shared with the passport strategy. */
  subjectFromClaims(claims: unknown): TokenSubject;
  /** The HS256 key. A KeyObject, not the string: given a string, jsonwebtoken first tries to parse
   * it as a PEM public key and throws, which cost ~0.4 ms per verification (vs ~7 µs). */
  readonly key: KeyObject;
  readonly algorithms: [typeof algorithm];
}

/** Builds the token service for one secret and the configured lifetimes. */
export function createTokenService(options: { secret: string; accessTtlS: number; guestTtlS: number }): TokenService {
  const subjectFromClaims = (claims: unknown): TokenSubject => {
    const parsed = claimsSchema.safeParse(claims);
    if (!parsed.success) throw new AppError('UNAUTHENTICATED', 'The access token is malformed');
    return { userId: parsed.data.sub, isGuest: parsed.data.guest };
  };
  const key = createSecretKey(Buffer.from(options.secret, 'utf8'));
  return {
    key,
    algorithms: [algorithm],
    subjectFromClaims,
    issue(user) {
      const expiresIn = user.isGuest ? options.guestTtlS : options.accessTtlS;
      const token = jwt.sign({ guest: user.isGuest }, key, { algorithm, subject: user.id, expiresIn });
      return { token, expiresIn };
    },
    verify(token) {
      try {
        return subjectFromClaims(jwt.verify(token, key, { algorithms: [algorithm] }));
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw new AppError('UNAUTHENTICATED', describeJwtError(error));
      }
    },
  };
}

/** A human detail for a rejected token; the code stays UNAUTHENTICATED whatever the reason. */
export function describeJwtError(error: unknown): string {
  if (error instanceof jwt.TokenExpiredError) return 'The access token has expired';
  if (error instanceof jwt.JsonWebTokenError) return 'The access token is not valid';
  return 'A valid bearer token is required';
}
