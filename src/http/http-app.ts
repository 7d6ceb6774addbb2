import { isUtf8 } from 'node:buffer';
import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { RedisClient } from '../config/redis-target';
import type { Logger } from 'pino';
import { authRoutes } from '../auth/auth.routes';
import type { AuthService } from '../auth/auth.service';
import type { LoginThrottle } from '../auth/login-throttle';
import type { TrustProxy } from '../config/config';
import type { MeetingLimits } from '../contract/schemas';
import { AppError } from '../errors/app-error';
import { bodyParserError } from '../errors/to-app-error';
import type { Orm } from '../persistence/orm';
import { meetingsRoutes } from '../rooms/meetings.routes';
import type { InvitationsService } from '../invitations/invitations.service';
import { invitationsRoutes } from '../invitations/invitations.routes';
import type { MeetingsService } from '../rooms/meetings.service';
import type { Metrics } from './metrics';
import { opsRoutes } from './ops.routes';
import { webRoutes } from './web.routes';
import { notFound, problemHandler } from './problem';
import { accessLog } from './access-log';

/** Every body of the contract is a few hundred bytes; anything near this limit is not ours. */
const bodyLimit = '16kb';

/**
 * Bodies are UTF-8 JSON (RFC 8259 §8.1). Bytes that are not UTF-8 are refused, not read as U+FFFD:
 * a name or a password would otherwise be stored as something its sender never sent.
 */
function utf8Only(_req: IncomingMessage, _res: ServerResponse, body: Buffer, charset: string): void {
  if (charset !== 'utf-8') throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be UTF-8');
  if (!isUtf8(body)) throw new AppError('VALIDATION_FAILED', 'The request body is not valid UTF-8', [{ path: '', message: 'must be valid UTF-8' }]);
}

export interface HttpDeps {
  logger: Logger;
  orm: Orm;
  redis: RedisClient | undefined;
  auth: AuthService;
  meetings: MeetingsService;
  invitations: InvitationsService;
  limits: MeetingLimits;
  authenticate: RequestHandler;
  /** Bounds failed logins per account and client address (auth/login-throttle.ts). */
  loginThrottle: LoginThrottle;
  /** Express's `trust proxy`: which proxies' X-Forwarded-For to believe for the client's address. */
  trustProxy: TrustProxy;
  metrics: Metrics;
  openApiDocument: object;
  /** The built meeting page (dist/web). */
  webRoot: string;
}

/** The Express application: middleware, routes under /api/v1, and the one error handler. */
export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETags: the API's answers are live room state, never revalidated, and hashing every body
  // cost 1-3 % of a create + join pair's CPU (docs/performance.md). The page is revalidated by its
  // Last-Modified date; its assets are immutable and keep express.static's own ETags.
  app.set('etag', false);
  app.set('trust proxy', deps.trustProxy);
  app.use(helmet());
  app.use(accessLog(deps.logger));
  const parseJson = express.json({ limit: bodyLimit, type: ['application/json', 'application/*+json'], verify: utf8Only });
  // What the body parser refuses is the body's fault: a 4xx with a stable code (errors/to-app-error.ts), never INTERNAL.
  app.use((req, res, next) => parseJson(req, res, (error?: unknown) => next(error === undefined ? undefined : bodyParserError(error))));

  app.use(deps.metrics.observeRequests);
  app.use(opsRoutes({ orm: deps.orm, redis: deps.redis, metrics: deps.metrics, openApiDocument: deps.openApiDocument }));
  const mount = (prefix: string, router: express.Router) => app.use(prefix, deps.metrics.routePrefix(prefix), router);
  mount('/api/v1/auth', authRoutes({ auth: deps.auth, authenticate: deps.authenticate, loginThrottle: deps.loginThrottle }));
  mount('/api/v1/meetings/:room_code/invitations', invitationsRoutes({ invitations: deps.invitations, authenticate: deps.authenticate }));
  mount('/api/v1/meetings', meetingsRoutes({ meetings: deps.meetings, authenticate: deps.authenticate, limits: deps.limits }));
  app.use(webRoutes(deps.webRoot));

  app.use(notFound);
  app.use(problemHandler(deps.logger));
  return app;
}

/**
 * The HTTP server for the app. Its requests and responses are made with the app's prototypes from
 * the start, so the `Object.setPrototypeOf` Express applies to every request and response finds
 * them in place and changes nothing. Changing the prototype of an object V8 has already made is
 * what kept a request's garbage alive across scavenges: with it, a fifth of what a request
 * allocated was promoted to the old generation (0.1 % this way, on a bare Express app), and our
 * node then collected its old generation every few seconds under load, stalling requests while
 * it marked (docs/performance.md, row (a)).
 */
export function createHttpServer(app: Express): Server {
  function Request(this: IncomingMessage, ...args: ConstructorParameters<typeof IncomingMessage>) {
    IncomingMessage.apply(this, args);
  }
  Request.prototype = app.request;
  // As `class Request extends IncomingMessage` would: V8 then sizes the objects for the
  // properties IncomingMessage and its bases set (a request kept by a socket is smaller).
  Object.setPrototypeOf(Request, IncomingMessage);
  function Response(this: ServerResponse, ...args: ConstructorParameters<typeof ServerResponse>) {
    ServerResponse.apply(this, args);
  }
  Response.prototype = app.response;
  Object.setPrototypeOf(Response, ServerResponse);
  return createServer({ IncomingMessage: Request as unknown as typeof IncomingMessage, ServerResponse: Response as unknown as typeof ServerResponse }, app);
}
