import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisClient } from './config/redis-target';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { version } from '../package.json';
import { createAuthService } from './auth/auth.service';
import { createAccounts } from './auth/accounts';
import { createAuthenticate } from './auth/authenticate';
import { createLoginThrottle } from './auth/login-throttle';
import { createTokenService } from './auth/tokens';
import { closeRedisConnection, createRedisConnection } from './cluster/redis-connection';
import type { Config } from './config/config';
import { buildOpenApiDocument } from './contract/openapi';
import { createHttpApp, createHttpServer } from './http/http-app';
import { createMetrics } from './http/metrics';
import { defaultWebRoot } from './http/web.routes';
import { countAdapterMessages, createSocketAdapter } from './cluster/socket-adapter';
import { createMemoryLiveStateStore } from './live-state/memory-live-state';
import { createLogger } from './logging/logger';
import { createMailDispatcher } from './mail/mail-dispatcher';
import { createMailer, type Mailer } from './mail/mailer';
import { createMailOutbox } from './mail/room-mail';
import { openOrm, type Orm } from './persistence/orm';
import { createSql, type Sql } from './persistence/sql';
import { createCallSettings } from './realtime/ice-servers';
import { everyChannel } from './realtime/channels';
import { registerRealtime } from './realtime/realtime';
import { createRoomPublisher, moveLocalSockets } from './realtime/room-publisher';
import { createSpeakerTunings } from './realtime/speaker-tunings';
import { createSocketServer, type MeetingServer } from './realtime/socket-server';
import { createClusterRooms, createSingleNodeRooms } from './compose-rooms';
import { createMeetingsService } from './rooms/meetings.service';
import type { RoomRouter } from './rooms/room-router';
import { createRoomRepository } from './rooms/room-repository';
import { combineOutboxes, noOutbox, type RoomOutbox } from './rooms/room-outbox';
import { noInvitationListener, type InvitationListener } from './invitations/invitation-events';
import { createInvitationQuota } from './invitations/invitation-quota';
import { createInvitationsService } from './invitations/invitations.service';
import { createInvitationWebhooks, createWebhookOutbox } from './webhooks/room-webhooks';
import { createWebhookDispatcher } from './webhooks/webhook-dispatcher';

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
  /** Socket.IO on the same HTTP server (path /socket.io). */
  readonly io: MeetingServer;
  readonly orm: Orm;
  readonly redis: RedisClient | undefined;
  readonly rooms: RoomRouter;
  /** Invitation emails (docs/email.md): what the invitations service queues them through; null without SMTP_URL. */
  readonly mailer: Mailer | null;
  /** Disconnects sockets, stops accepting work, drains HTTP, then closes PostgreSQL and Redis. Safe to call twice. */
  close(): Promise<void>;
}

type Cleanup = () => void | Promise<void>;

/** How long in-flight requests get to finish at shutdown before their connections are cut. */
const drainTimeoutMs = 5000;

/**
 * Live room keys expire this long after their last write or refresh, so a room whose owner
 * vanished leaves nothing behind for good; owners refresh their rooms four times per period.
 */
const liveStateTtlMs = 24 * 3600_000;

/** How long a node trusts that an account exists (docs/api.md "Auth"): a deleted one is refused within this. */
export const accountCacheTtlMs = 10_000;

/** The composition root: builds every component from plain factories and wires them together. */
export async function createApp(config: AppConfig, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger(config);
  const orm = await openOrm(config.databaseUrl, { migrate: config.migrateOnStart, logger });
  const redis = config.redis ? createRedisConnection(config.redis, logger, `meeting-rooms:${config.nodeId}`) : undefined;
  const cleanups: Cleanup[] = [];
  // Share links: PUBLIC_BASE_URL, or this node on the port it listens on (known once it listens;
  // a worker of WEB_CONCURRENCY never listens itself, and the primary listens on PORT).
  let httpServer: Server | undefined;
  const publicBaseUrl = () => config.publicBaseUrl ?? `http://localhost:${(httpServer?.address() as AddressInfo | null)?.port ?? config.port}`;

  try {
    const tokens = createTokenService({
      secret: config.jwtSecret,
      accessTtlS: config.accessTokenTtlS,
      guestTtlS: config.guestTokenTtlS,
    });
    // Socket.IO first: rooms publish through it. It is attached to the HTTP server below.
    const socketAdapter = redis
      ? createSocketAdapter(config.socketAdapter, { target: config.redis!, prefix: config.redisPrefix, nodeId: config.nodeId, logger })
      : undefined;
    cleanups.push(() => socketAdapter?.close());
    const sql = createSql(orm);
    const accounts = createAccounts(sql, { ttlMs: accountCacheTtlMs, maxEntries: 10_000 });
    // The in-memory adapter recovers too: a client that blips back to this node misses nothing.
    const recovers = socketAdapter?.recovers ?? true;
    const io = createSocketServer(tokens, accounts, { adapter: socketAdapter?.adapter, recovers });
    const tunings = createSpeakerTunings(io, socketAdapter !== undefined, logger);
    const metrics = createMetrics({ node: config.nodeId });
    if (socketAdapter) countAdapterMessages(socketAdapter, metrics.registry);
    const webhooks = startWebhooks(config, publicBaseUrl, sql, logger, metrics.registry);
    cleanups.push(() => webhooks.close());
    const mail = startMail(config, publicBaseUrl, sql, logger, metrics.registry);
    cleanups.push(() => mail.close());
    const roomDeps = {
      repository: createRoomRepository(orm),
      outbox: mail.mailer ? combineOutboxes(webhooks.outbox, createMailOutbox(mail.mailer)) : webhooks.outbox,
      logger,
      // On a Redis Cluster, other nodes' sockets change channels through the cluster router (set below).
      publish: createRoomPublisher(io, tunings, {
        recovers,
        remote: redis?.isCluster ? { channels: { nodeId: config.nodeId, move: (node, move) => clusterRooms!.moveSockets(node, move) }, logger } : undefined,
      }),
      timings: {
        emptyRoomTimeoutMs: config.emptyRoomTimeoutS * 1000,
        soloRoomTimeoutMs: config.soloRoomTimeoutS * 1000,
        unusedRoomTimeoutMs: config.unusedRoomTimeoutS * 1000,
        reconnectGraceMs: config.reconnectGraceS * 1000,
        lobbyRejectCooldownMs: config.lobbyRejectCooldownS * 1000,
        scheduledEndWarningMs: config.scheduledEndWarningS * 1000,
      },
      refreshEveryMs: liveStateTtlMs / 4,
    };
    let rooms: RoomRouter;
    let clusterRooms: ReturnType<typeof createClusterRooms> | undefined;
    if (redis) {
      // A second connection receives forwarded commands; it waits out Redis outages rather than failing.
      const subscriber = createRedisConnection(config.redis!, logger, `meeting-rooms:${config.nodeId}:inbox`, { maxRetriesPerRequest: null, sharded: true });
      cleanups.push(() => closeRedisConnection(subscriber));
      const cluster = createClusterRooms({
        ...roomDeps,
        redis,
        subscriber,
        prefix: config.redisPrefix,
        nodeId: config.nodeId,
        liveStateTtlMs,
        isLocalSocket: (socketId) => io.of('/').sockets.has(socketId),
        applyMove: (move) => moveLocalSockets(io, move),
      });
      clusterRooms = cluster;
      // Not awaited: a node boots while Redis is down; commands wait for the first heartbeat.
      cluster.start().catch((error: unknown) => logger.error({ err: error, component: 'cluster' }, 'could not join the cluster'));
      rooms = cluster;
    } else {
      const liveState = createMemoryLiveStateStore({ ttlMs: liveStateTtlMs });
      cleanups.push(() => liveState.close());
      rooms = createSingleNodeRooms({ ...roomDeps, liveState });
    }
    const calls = createCallSettings(config.ice);
    const realtime = registerRealtime(io, {
      rooms,
      nodeId: config.nodeId,
      logger,
      speaker: config.activeSpeaker,
      tunings,
      metrics: metrics.registry,
      calls,
      interest: socketAdapter?.interest(io) ?? everyChannel,
    });
    const limits = {
      maxParticipantsLimit: config.maxParticipantsLimit,
      speakerThresholdDb: config.roomSpeakerRanges.thresholdDb,
      speakerMinMs: config.roomSpeakerRanges.minMs,
    };
    const invitations = createInvitationsService({
      sql,
      rooms,
      publicBaseUrl,
      ttlMs: config.invitationTtlS * 1000,
      mailer: mail.mailer,
      listener: webhooks.invitations,
      quota: createInvitationQuota(config.invitationsPerHour, redis ? { redis, prefix: config.redisPrefix } : undefined),
    });
    const httpApp = createHttpApp({
      logger,
      orm,
      redis,
      auth: createAuthService({ em: orm.em, tokens, accounts }),
      meetings: createMeetingsService({
        em: orm.em,
        rooms,
        redeemInvitation: (userId, roomCode, token) => invitations.redeem(userId, roomCode, token),
        publicBaseUrl,
        defaultMaxParticipants: config.defaultMaxParticipants,
      }),
      invitations,
      limits,
      authenticate: createAuthenticate(tokens, accounts),
      loginThrottle: createLoginThrottle(redis ? { redis, prefix: config.redisPrefix } : undefined),
      trustProxy: config.trustProxy,
      metrics,
      openApiDocument: buildOpenApiDocument(version, limits),
      webRoot: defaultWebRoot,
    });
    httpServer = createHttpServer(httpApp);
    io.attach(httpServer);
    cleanups.push(() => realtime.close());
    return assemble({ config, httpServer, io, orm, redis, rooms, mailer: mail.mailer }, cleanups);
  } catch (error) {
    // Nothing half-built stays open: the caller gets the error and no connections linger.
    await runCleanups(cleanups);
    await releaseConnections(orm, redis);
    throw error;
  }
}

/** The webhook dispatcher and the outbox rooms commit through; nothing runs when WEBHOOK_URL is unset. */
function startWebhooks(
  config: AppConfig,
  publicBaseUrl: () => string,
  sql: Sql,
  logger: Logger,
  registry: Registry,
): { outbox: RoomOutbox; invitations: InvitationListener; close(): Promise<void> } {
  if (!config.webhooks) return { outbox: noOutbox, invitations: noInvitationListener, close: async () => undefined };
  const dispatcher = createWebhookDispatcher({ ...config.webhooks, sql, logger, registry });
  return {
    outbox: createWebhookOutbox(publicBaseUrl, config.webhooks.endpoints, dispatcher),
    invitations: createInvitationWebhooks(config.webhooks.endpoints, dispatcher),
    close: () => dispatcher.close(),
  };
}

/** The mail dispatcher and the Mailer the invitations service queues emails through; nothing runs when SMTP_URL is unset. */
function startMail(
  config: AppConfig,
  publicBaseUrl: () => string,
  sql: Sql,
  logger: Logger,
  registry: Registry,
): { mailer: Mailer | null; close(): Promise<void> } {
  if (!config.mail) return { mailer: null, close: async () => undefined };
  const { smtpUrl, from, maxAttempts, retryBaseMs, retentionDays } = config.mail;
  const dispatcher = createMailDispatcher({
    sql,
    smtpUrl,
    from,
    publicBaseUrl,
    logger,
    registry,
    maxAttempts,
    retryBaseMs,
    retentionMs: retentionDays * 86_400_000,
  });
  return { mailer: createMailer(dispatcher), close: () => dispatcher.close() };
}

/** Runs every cleanup, newest first, whatever the others do. */
async function runCleanups(cleanups: Cleanup[]): Promise<void> {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
}

function assemble(parts: Omit<App, 'close'>, cleanups: Cleanup[]): App {
  const { httpServer, io, orm, redis, rooms } = parts;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Sockets first: their connections would hold the HTTP server open, and each one's detach
      // is queued to its rooms before those drain.
      io.local.disconnectSockets(true);
      await closeHttpServer(httpServer);
      await io.close();
      // Room commands still queued finish their effects before the connections go; in a cluster
      // the rooms are then handed off.
      await rooms.close();
      await runCleanups(cleanups);
      await releaseConnections(orm, redis);
    })());

  return { ...parts, close };
}

async function releaseConnections(orm: Orm, redis: RedisClient | undefined): Promise<void> {
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
