import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { normalizeEmail } from '../contract/schemas';
import { AppError } from '../errors/app-error';

/** Failed logins allowed per account and window before further attempts are refused. */
const maxFailures = 10;
const windowMs = 15 * 60_000;

/**
 * Bounds online password guessing per account: after `maxFailures` failed logins for one email
 * within `windowMs`, every login for that email answers 429 RATE_LIMITED until the window ends.
 * Keyed by email rather than IP because behind a load balancer all clients may share one
 * address. Counts live in this process (a cluster allows that many per node).
 */
export function createLoginThrottle(): RequestHandler {
  return rateLimit({
    windowMs,
    limit: maxFailures,
    // Only failures count: a user who logs in often is never throttled.
    skipSuccessfulRequests: true,
    // Bodies without an email are rejected by validation and say nothing about an account.
    skip: (req) => typeof req.body?.email !== 'string',
    // Normalised as the request schema does, so `Ann@x.org ` and `ann@x.org` share one budget.
    keyGenerator: (req) => `login:${normalizeEmail(req.body.email as string)}`,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new AppError('RATE_LIMITED', 'Too many failed logins for this account; try again later')),
  });
}
