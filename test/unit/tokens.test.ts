import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { createTokenService } from '../../src/auth/tokens';
import { AppError } from '../../src/errors/app-error';

const secret = 'test-secret-that-is-long-enough-0123456789';
const tokens = createTokenService({ secret, accessTtlS: 3600, guestTtlS: 600 });

function rejection(token: string): AppError {
  try {
    tokens.verify(token);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the token to be rejected');
}

describe('token service', () => {
  const user = { id: randomUUID(), isGuest: false };

  it('issues a token that verifies back to the same principal', () => {
    const { token, expiresIn } = tokens.issue(user);
    expect(expiresIn).toBe(3600);
    expect(tokens.verify(token)).toEqual({ userId: user.id, isGuest: false });
  });

  it('carries sub, exp and the guest flag, signed with HS256', () => {
    const guest = { id: randomUUID(), isGuest: true };
    const { token, expiresIn } = tokens.issue(guest);
    const decoded = jwt.decode(token, { complete: true })!;
    const payload = decoded.payload as jwt.JwtPayload;
    expect(decoded.header.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: guest.id, guest: true });
    expect(expiresIn).toBe(600);
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(tokens.verify(token)).toEqual({ userId: guest.id, isGuest: true });
  });

  it('rejects an expired token', () => {
    const expired = jwt.sign({ guest: false }, secret, { algorithm: 'HS256', subject: user.id, expiresIn: -10 });
    const error = rejection(expired);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/expired/);
  });

  it('rejects a token whose payload was tampered with', () => {
    const [header, , signature] = tokens.issue(user).token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: randomUUID(), guest: false, exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    expect(rejection(`${header}.${forged}.${signature}`).code).toBe('UNAUTHENTICATED');
  });

  it('rejects a token signed with another secret', () => {
    const other = createTokenService({ secret: 'another-secret-that-is-long-enough-000000', accessTtlS: 3600, guestTtlS: 600 });
    expect(rejection(other.issue(user).token).code).toBe('UNAUTHENTICATED');
  });

  it('rejects unsigned (alg: none) tokens', () => {
    const unsigned = jwt.sign({ guest: false, sub: user.id }, '', { algorithm: 'none', expiresIn: 60 });
    expect(rejection(unsigned).code).toBe('UNAUTHENTICATED');
  });

  it('rejects a validly signed token without the expected claims', () => {
    const noExp = jwt.sign({ sub: user.id, guest: false }, secret, { algorithm: 'HS256' });
    const badSub = jwt.sign({ guest: false }, secret, { algorithm: 'HS256', subject: 'not-a-uuid', expiresIn: 60 });
    expect(rejection(noExp).message).toMatch(/malformed/);
    expect(rejection(badSub).message).toMatch(/malformed/);
  });

  it('rejects garbage', () => {
    expect(rejection('not.a.jwt').code).toBe('UNAUTHENTICATED');
    expect(rejection('').code).toBe('UNAUTHENTICATED');
  });
});
