import type { RedisClient } from '../config/redis-target';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors/app-error';

/** How many people one account may invite per hour (INVITATIONS_PER_HOUR), so the server cannot be used to mail-bomb. */
export interface InvitationQuota {
  /** Takes `count` invitations from the inviter's hourly budget, or throws 429 RATE_LIMITED and takes none. */
  take(inviterId: string, count: number): Promise<void>;
}

const windowS = 3600;

/**
 * The budget lives in Redis in a cluster (`invitation_quota:{user_id}`), the same whichever node
 * a request reaches, and in this process on a single node or while Redis is unreachable.
 */
export function createInvitationQuota(perHour: number, shared?: { redis: RedisClient; prefix: string }): InvitationQuota {
  const memory = new RateLimiterMemory({ points: perHour, duration: windowS });
  const limiter: RateLimiterAbstract = shared
    ? new RateLimiterRedis({
        storeClient: shared.redis,
        keyPrefix: `${shared.prefix}invitation_quota`,
        points: perHour,
        duration: windowS,
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      })
    : memory;
  return {
    async take(inviterId, count) {
      if (count > perHour) throw new AppError('RATE_LIMITED', `At most ${perHour} invitations an hour`);
      try {
        await limiter.consume(inviterId, count);
      } catch (error) {
        if (!(error instanceof RateLimiterRes)) throw error;
        // A refused request takes nothing: give back what consume() counted.
        await limiter.reward(inviterId, count).catch(() => undefined);
        throw new AppError('RATE_LIMITED', `Too many invitations; try again in ${Math.ceil(error.msBeforeNext / 1000)} s`);
      }
    },
  };
}
