import { RequestContext } from '@mikro-orm/postgresql';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { authRoutes } from '../auth/auth.routes';
import type { AuthService } from '../auth/auth.service';
import type { MeetingLimits } from '../contract/schemas';
import type { Orm } from '../persistence/orm';
import { meetingsRoutes } from '../rooms/meetings.routes';
import type { MeetingsService } from '../rooms/meetings.service';
import type { Metrics } from './metrics';
import { opsRoutes } from './ops.routes';
import { notFound, problemHandler } from './problem';
import { requestLog } from './request-log';

/** Every body of the contract is a few hundred bytes; anything near this limit is not ours. */
const bodyLimit = '16kb';

export interface HttpDeps {
  logger: Logger;
  orm: Orm;
  redis: Redis | undefined;
  auth: AuthService;
  meetings: MeetingsService;
  limits: MeetingLimits;
  authenticate: RequestHandler;
  /** Bounds failed logins per account (auth/login-throttle.ts). */
  loginThrottle: RequestHandler;
  metrics: Metrics;
  openApiDocument: object;
}

/** The Express application: middleware, routes under /api/v1, and the one error handler. */
export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet());
  app.use(requestLog(deps.logger));
  app.use(express.json({ limit: bodyLimit, type: ['application/json', 'application/*+json'] }));
  // One forked entity manager per request (AsyncLocalStorage), so requests never share an identity map.
  app.use((_req, _res, next) => RequestContext.create(deps.orm.em, next));

  app.use(deps.metrics.observeRequests);
  app.use(opsRoutes({ orm: deps.orm, redis: deps.redis, metrics: deps.metrics, openApiDocument: deps.openApiDocument }));
  const mount = (prefix: string, router: express.Router) => app.use(prefix, deps.metrics.routePrefix(prefix), router);
  mount('/api/v1/auth', authRoutes({ auth: deps.auth, authenticate: deps.authenticate, loginThrottle: deps.loginThrottle }));
  mount('/api/v1/meetings', meetingsRoutes({ meetings: deps.meetings, authenticate: deps.authenticate, limits: deps.limits }));

  app.use(notFound);
  app.use(problemHandler);
  return app;
}
