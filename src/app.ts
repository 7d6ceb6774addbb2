import { createServer, type Server } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { version } from '../package.json';
import { createAuthService } from './auth/auth.service';
import { createAuthenticate } from './auth/authenticate';
import { createTokenService } from './auth/tokens';
import { closeRedisConnection, createRedisConnection } from './cluster/redis-connection';
import type { Config } from './config/config';
import { buildOpenApiDocument } from './contract/openapi';
import { createHttpApp } from './http/http-app';
import { createMetrics } from './http/metrics';
import { createLogger } from './logging/logger';
import { openOrm, type Orm } from './persistence/orm';

/** The configuration once the database is resolved (DATABASE_URL or the embedded one). */
export type AppConfig = Config & { readonly databaseUrl: string };

/** Replaceable parts, for tests and embedding. */
export interface AppOverrides {
  logger?: Logger;
}

export interface App {
  readonly config: AppConfig;
  /** Not listening yet: the caller chooses the port (tests use 0). */
  readonly httpServer: Server;
  readonly orm: Orm;
  readonly redis: Redis | undefined;
  /** Stops accepting work, drains HTTP, then closes PostgreSQL and Redis. Safe to call twice. */
  close(): Promise<void>;
}

/** How long in-flight requests get to finish at shutdown before their connections are cut. */
const drainTimeoutMs = 5000;

/** The composition root: builds every component from plain factories and wires them together. */
export async function createApp(config: AppConfig, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger(config);
  const orm = await openOrm(config.databaseUrl, { migrate: config.migrateOnStart, logger });
  const redis = config.redisUrl ? createRedisConnection(config.redisUrl, logger, `meeting-rooms:${config.nodeId}`) : undefined;

  try {
    const tokens = createTokenService({
      secret: config.jwtSecret,
      accessTtlS: config.accessTokenTtlS,
      guestTtlS: config.guestTokenTtlS,
    });
    const httpApp = createHttpApp({
      logger,
      orm,
      redis,
      auth: createAuthService({ em: orm.em, tokens }),
      authenticate: createAuthenticate(tokens),
      metrics: createMetrics({ node: config.nodeId }),
      openApiDocument: buildOpenApiDocument(version),
    });
    return assemble(config, createServer(httpApp), orm, redis);
  } catch (error) {
    // Nothing half-built stays open: the caller gets the error and no connections linger.
    await releaseConnections(orm, redis);
    throw error;
  }
}

function assemble(config: AppConfig, httpServer: Server, orm: Orm, redis: Redis | undefined): App {
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await closeHttpServer(httpServer);
      await releaseConnections(orm, redis);
    })());

  return { config, httpServer, orm, redis, close };
}

async function releaseConnections(orm: Orm, redis: Redis | undefined): Promise<void> {
  await orm.close(true);
  if (redis) await closeRedisConnection(redis);
}

async function closeHttpServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // A keep-alive connection goes idle when its in-flight request ends; close it then rather
  // than waiting for the client's idle timeout.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  const deadline = setTimeout(() => server.closeAllConnections(), drainTimeoutMs);
  await closed;
  clearInterval(sweep);
  clearTimeout(deadline);
}
