import { createHash, randomBytes } from 'node:crypto';

/**
 * An invitation's token: 24 bytes from the CSPRNG in base64url (32 characters, 192 bits), shown
 * once, in the invite link. PostgreSQL keeps only its SHA-256: a token is as strong as a random
 * key, so a fast hash is enough (a slow one protects guessable secrets such as passwords), and a
 * copy of the database does not let anyone in.
 */
export const newInvitationToken = (): string => randomBytes(24).toString('base64url');

/** The SHA-256 of a token, in hex, as `invitations.token_hash` holds it (decoded to bytes). */
export const tokenHashHex = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** The link an invitee follows: the room's share link with the token (docs/api.md "Invitations"). */
export const inviteUrlOf = (joinUrl: string, token: string): string => `${joinUrl}?invitation=${token}`;
