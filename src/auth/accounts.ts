import { LRUCache } from 'lru-cache';
import { AppError } from '../errors/app-error';
import type { NamedStatement, Sql } from '../persistence/sql';
import type { Principal, TokenSubject } from './tokens';

/** What a request needs to know about its caller's account: the account, not the token, says what the caller may do. */
export interface Account {
  displayName: string;
  /** The `users.is_guest` column; a token's `guest` claim is only a copy of it. */
  isGuest: boolean;
}

/**
 * Whether the account a token names still exists, checked on every request and handshake (a
 * validly signed token outlives its account). An account seen to exist (found, or just signed
 * in to on this node) is remembered for `ttlMs`, up to `maxEntries` of them, so a busy caller
 * costs no query; an account deleted from the database is refused within `ttlMs` on every node.
 * A missing account is not remembered: asking again is one indexed select.
 */
export interface Accounts {
  find(userId: string): Promise<Account | null>;
  /** An account just created or logged in to exists: its first requests need no query. */
  remember(userId: string, account: Account): void;
}

const selectAccount: NamedStatement = { name: 'users.account', text: 'select display_name, is_guest from users where id = $1' };

export function createAccounts(sql: Sql, options: { ttlMs: number; maxEntries: number; now?: () => number }): Accounts {
  // ttlResolution 0: every read asks the clock, so a test's clock is obeyed to the millisecond.
  const known = new LRUCache<string, Account>({
    max: options.maxEntries,
    ttl: options.ttlMs,
    ttlResolution: 0,
    perf: options.now ? { now: options.now } : undefined,
  });
  const remember = (userId: string, account: Account) => void known.set(userId, account);

  return {
    remember,
    async find(userId) {
      const cached = known.get(userId);
      if (cached) return cached;
      const [row] = (await sql.query<{ display_name: string; is_guest: boolean }>(selectAccount, [userId])).rows;
      if (!row) return null;
      const account = { displayName: row.display_name, isGuest: row.is_guest };
      remember(userId, account);
      return account;
    },
  };
}

/** 401 for a validly signed token whose account does not exist (any more). */
export const accountGone = () => new AppError('UNAUTHENTICATED', 'The account of this token no longer exists');

/**
 * The caller a token proves: its subject, if the account still exists; else 401 UNAUTHENTICATED.
 * Whether it is a guest is the account's say: a token signed with `guest: false` for a guest's
 * id (a leaked secret, an old token) does not make a host of them.
 */
export async function principalOf(subject: TokenSubject, accounts: Accounts): Promise<Principal> {
  const account = await accounts.find(subject.userId);
  if (!account) throw accountGone();
  return { userId: subject.userId, isGuest: account.isGuest, displayName: account.displayName };
}
