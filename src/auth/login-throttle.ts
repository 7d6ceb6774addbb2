import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { normalizeEmail } from '../contract/schemas';
import { AppError } from '../errors/app-error';

/** Failed logins allowed per account and window before further attempts are refused. */
const maxFailures = 10;
const windowMs = 15 * 60_000;

/**
 * Bounds online password guessing per account: after `maxFailures` failed logins for one email
 * within `windowMs`, every login for that email answers 429 RATE_LIMITED until the window ends.
 * Keyed by email rather than IP because behind a load balancer all clients may share one
 * address. In a cluster the counts live in Redis (`login_failures:{sha256 of the email}`), so
 * the budget is the same whichever node a guess reaches; if Redis fails, logins are let through
 * unthrottled rather than refused. On a single node they live in this process.
 */
export function createLoginThrottle(shared?: { redis: Redis; prefix: string }): RequestHandler {
  return rateLimit({
    ...(shared
      ? {
          store: new RedisStore({
            prefix: `${shared.prefix}login_failures:`,
            sendCommand: (command: string, ...args: string[]) => shared.redis.call(command, ...args) as Promise<RedisReply>,
          }),
          passOnStoreError: true,
        }
      : {}),
    windowMs,
    limit: maxFailures,
    // Only failures count: a user who logs in often is never throttled.
    skipSuccessfulRequests: true,
    // Bodies without an email are rejected by validation and say nothing about an account.
    skip: (req) => typeof req.body?.email !== 'string',
    // Normalised as the request schema does, so `Ann@x.org ` and `ann@x.org` share one budget.
    // Hashed, so no address appears in Redis keys.
    keyGenerator: (req) => createHash('sha256').update(normalizeEmail(req.body.email as string)).digest('hex'),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new AppError('RATE_LIMITED', 'Too many failed logins for this account; try again later')),
  });
}
