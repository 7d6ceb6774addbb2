import { createHash } from 'node:crypto';
import type { RedisClient } from '../config/redis-target';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors/app-error';

/** How long a budget lasts, counted from its first failed login. */
const windowS = 15 * 60;
/** Failed logins allowed for one account from one client address per window. */
export const failuresPerAddress = 10;
/**
 * Failed logins allowed for one account from all addresses together per window: bounds a guesser
 * who spreads over many addresses, and is loose enough that one address cannot lock a user out.
 */
export const failuresPerAccount = 100;

/** The caller of one login: the email as the request schema normalised it, and the client's address. */
export interface LoginCaller {
  email: string;
  address: string;
}

/** 429 RATE_LIMITED, with the seconds until the budget that refused allows a login again. */
export class LoginThrottled extends AppError {
  constructor(readonly retryAfterS: number) {
    super('RATE_LIMITED', 'Too many failed logins for this account; try again later');
  }
}

export interface LoginThrottle {
  /**
   * Runs `login` if both budgets of `caller` allow one more attempt, else throws LoginThrottled.
   * Each attempt takes one from both budgets before the password is checked, so concurrent guesses
   * cannot overrun them. A 401 INVALID_CREDENTIALS keeps what it took; a success clears its own
   * (account, address) budget and gives the account's back; any other outcome gives both back.
   */
  attempt<T>(caller: LoginCaller, login: () => Promise<T>): Promise<T>;
}

/**
 * Waits for budget updates that give attempts back. One that fails (both stores down) is let go:
 * the caller's budget is then smaller than it should be until the window ends, never larger.
 */
async function settle(updates: (Promise<unknown> | false)[]): Promise<void> {
  await Promise.allSettled(updates.filter((update) => update !== false));
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Bounds online password guessing the way well-kept services do: per (account, client address),
 * and more loosely per account. In a cluster the budgets live in Redis
 * (`login_failures:{sha256 of email and address}` and `login_failures:{sha256 of email}`), the
 * same whichever node a guess reaches. While Redis is unreachable each node keeps them in memory
 * instead (so the bound is per node for that while, never gone), and goes back to Redis when it
 * answers again. On a single node they live in this process.
 */
export function createLoginThrottle(shared?: { redis: RedisClient; prefix: string }): LoginThrottle {
  const budget = (points: number, name: string): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ points, duration: windowS });
    if (!shared) return memory;
    return new RateLimiterRedis({
      storeClient: shared.redis,
      keyPrefix: `${shared.prefix}login_failures:${name}`,
      points,
      duration: windowS,
      // A command to a Redis that is down would wait for reconnection; the node's own budget answers at once.
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  };
  const perAddress = budget(failuresPerAddress, 'address');
  const perAccount = budget(failuresPerAccount, 'account');

  /** Takes one attempt from both budgets, or none: a refused attempt gives back what it took. */
  async function take(addressKey: string, accountKey: string): Promise<void> {
    const [address, account] = await Promise.allSettled([perAddress.consume(addressKey), perAccount.consume(accountKey)]);
    const refusals = [address, account].flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    if (refusals.length === 0) return;
    // Attempts one address makes after its own budget ran out must not drain the account's.
    await settle([address.status === 'fulfilled' && perAddress.reward(addressKey), account.status === 'fulfilled' && perAccount.reward(accountKey)]);
    const failure = refusals.find((reason) => !(reason instanceof RateLimiterRes));
    if (failure) throw failure;
    const waitMs = Math.max(...refusals.map((reason) => (reason as RateLimiterRes).msBeforeNext));
    throw new LoginThrottled(Math.max(1, Math.ceil(waitMs / 1000)));
  }

  return {
    async attempt(caller, login) {
      const accountKey = sha256(caller.email);
      const addressKey = sha256(`${caller.email}\n${caller.address}`);
      await take(addressKey, accountKey);
      let result;
      try {
        result = await login();
      } catch (error) {
        if (!(error instanceof AppError && error.code === 'INVALID_CREDENTIALS')) await settle([perAddress.reward(addressKey), perAccount.reward(accountKey)]);
        throw error;
      }
      await settle([perAddress.delete(addressKey), perAccount.reward(accountKey)]);
      return result;
    },
  };
}
