import { z } from 'zod';

/**
 * Every REST request body of the wire contract (DESIGN.md §6), validated at the edge. Objects
 * are strict: unknown fields are rejected. Response shapes are here too, so that the OpenAPI
 * document (contract/openapi.ts) is generated from the same source. Later issues add the
 * meetings bodies and the Socket.IO payloads.
 */

/** Lone UTF-16 surrogates cannot be stored as UTF-8: PostgreSQL would receive U+FFFD instead. */
const wellFormed = (text: string) => text.isWellFormed();
const notWellFormed = 'must be valid Unicode text';

const displayName = z
  .string()
  .refine(wellFormed, notWellFormed)
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .refine((name) => !/\p{Cc}/u.test(name), 'must not contain control characters');

/** How an email is compared and stored: `Ann@X.org ` and `ann@x.org` are one account. */
export const normalizeEmail = (raw: string): string => raw.trim().toLowerCase();

const email = z.string().overwrite(normalizeEmail).max(254, 'must be at most 254 characters').pipe(z.email('must be a valid email address'));

// The upper bound keeps one login from costing unbounded hashing work.
const password = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(256, 'must be at most 256 characters')
  .refine(wellFormed, notWellFormed);

export const registerBody = z.strictObject({ email, password, display_name: displayName });
export type RegisterBody = z.infer<typeof registerBody>;

export const loginBody = z.strictObject({ email, password: z.string().min(1, 'is required').max(256).refine(wellFormed, notWellFormed) });
export type LoginBody = z.infer<typeof loginBody>;

export const guestBody = z.strictObject({ display_name: displayName });
export type GuestBody = z.infer<typeof guestBody>;

/** `User` of the contract. */
export const userView = z.object({
  id: z.uuid(),
  email: z.string().nullable(),
  display_name: z.string(),
  is_guest: z.boolean(),
});
export type UserView = z.infer<typeof userView>;

/** `Session` of the contract: what register, login and guest return. */
export const sessionView = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int().describe('seconds until the token expires'),
  user: userView,
});
export type SessionView = z.infer<typeof sessionView>;
