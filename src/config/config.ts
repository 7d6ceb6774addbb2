import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { int, mailFrom, range, hostPortList, trustProxy, webhookUrls, type Range, type TrustProxy } from './env-values';
export type { Range, TrustProxy } from './env-values';
import { iceServersEnv, turnUrlsEnv, type IceConfig } from './ice-config';
import { redisProblems, type RedisTarget } from './redis-target';
export type { RedisTarget } from './redis-target';

/**
 * The only place that reads the environment (docs/configuration.md). Every variable has a default and a
 * reason in the table of docs/configuration.md "Variables"; bad values fail the boot, all listed at once.
 */

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: int(0, 65535).default(3000),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
    REDIS_SENTINELS: hostPortList.optional(),
    REDIS_SENTINEL_NAME: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be the name the sentinels monitor the primary under (1-64 characters of A-Z a-z 0-9 . _ -)')
      .optional(),
    REDIS_CLUSTER_NODES: hostPortList.optional(),
    // Default: `redis`, or `redis-sharded` on a Redis Cluster (the only one kept in order there).
    SOCKET_ADAPTER: z.enum(['redis', 'redis-streams', 'redis-sharded']).optional(),
    NODE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -')
      .optional(),
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{0,64}$/, 'must be at most 64 characters of A-Z a-z 0-9 . _ : -')
      .default(''),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    ACCESS_TOKEN_TTL_S: int(60, 30 * 86_400).default(3600),
    GUEST_TOKEN_TTL_S: int(60, 30 * 86_400).default(43_200),
    PUBLIC_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
    ACTIVE_SPEAKER_THRESHOLD_DB: z.coerce.number().min(-127).max(0).default(-40),
    ACTIVE_SPEAKER_MIN_MS: int(0, 10_000).default(300),
    ROOM_SPEAKER_THRESHOLD_DB_RANGE: range(-127, 0, false).default({ min: -70, max: -10 }),
    ROOM_SPEAKER_MIN_MS_RANGE: range(0, 10_000, true).default({ min: 100, max: 3000 }),
    DEFAULT_MAX_PARTICIPANTS: int(2, 100_000).default(100),
    MAX_PARTICIPANTS_LIMIT: int(2, 100_000).default(1000),
    RECONNECT_GRACE_S: int(0, 86_400).default(30),
    EMPTY_ROOM_TIMEOUT_S: int(1, 7 * 86_400).default(300),
    SOLO_ROOM_TIMEOUT_S: int(0, 7 * 86_400).default(0),
    UNUSED_ROOM_TIMEOUT_S: int(0, 365 * 86_400).default(86_400),
    LOBBY_REJECT_COOLDOWN_S: int(0, 86_400).default(0),
    SCHEDULED_END_WARNING_S: int(0, 3600).default(300),
    INVITATION_TTL_S: int(60, 366 * 86_400).default(7 * 86_400),
    INVITATIONS_PER_HOUR: int(1, 100_000).default(200),
    MIGRATE_ON_START: z.stringbool().optional(),
    WEB_CONCURRENCY: int(1, 64).default(1),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    TRUST_PROXY: trustProxy,
    WEBHOOK_URL: webhookUrls.optional(),
    WEBHOOK_SECRET: z.string().min(24, 'must be at least 24 characters').optional(),
    WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(5000),
    WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(15),
    WEBHOOK_RETRY_BASE_MS: int(10, 600_000).default(1000),
    WEBHOOK_RETENTION_DAYS: int(1, 3650).default(7),
    SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
    MAIL_FROM: mailFrom.optional(),
    MAIL_MAX_ATTEMPTS: int(1, 100).default(8),
    MAIL_RETRY_BASE_MS: int(10, 3_600_000).default(30_000),
    MAIL_RETENTION_DAYS: int(1, 3650).default(30),
    ICE_SERVERS: iceServersEnv.optional(),
    TURN_URLS: turnUrlsEnv.optional(),
    TURN_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    TURN_TTL_S: int(60, 7 * 86_400).default(86_400),
    // 4: measured with bench/mesh.ts (docs/calls.md "How many people a mesh takes").
    MESH_MAX_PARTICIPANTS: int(2, 50).default(4),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required when NODE_ENV=production' });
    }
    const cluster = Boolean(env.REDIS_URL || env.REDIS_SENTINELS || env.REDIS_CLUSTER_NODES);
    if (cluster && !env.DATABASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message: 'is required in cluster mode (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES is set): every node must share one database',
      });
    }
    for (const { path, message } of redisProblems(env)) ctx.addIssue({ code: 'custom', path: [path], message });
    if (env.WEB_CONCURRENCY > 1 && !cluster) {
      ctx.addIssue({
        code: 'custom',
        path: ['WEB_CONCURRENCY'],
        message: 'above 1 needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES: the workers are cluster nodes and share rooms through Redis',
      });
    }
    if (env.WEBHOOK_URL && !env.WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SECRET'], message: 'is required with WEBHOOK_URL: receivers verify every delivery with it' });
    }
    if (Boolean(env.SMTP_URL) !== Boolean(env.MAIL_FROM)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.SMTP_URL ? 'MAIL_FROM' : 'SMTP_URL'],
        message: 'SMTP_URL and MAIL_FROM go together: invitation emails are sent through that server from that address',
      });
    }
    if (Boolean(env.TURN_URLS) !== Boolean(env.TURN_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.TURN_URLS ? 'TURN_SECRET' : 'TURN_URLS'],
        message: 'TURN_URLS and TURN_SECRET go together: the server mints credentials for that TURN server with that secret',
      });
    }
    if (env.DEFAULT_MAX_PARTICIPANTS > env.MAX_PARTICIPANTS_LIMIT) {
      ctx.addIssue({
        code: 'custom',
        path: ['DEFAULT_MAX_PARTICIPANTS'],
        message: `must not exceed MAX_PARTICIPANTS_LIMIT (${env.MAX_PARTICIPANTS_LIMIT})`,
      });
    }
  });

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  /** Unset means single-node mode with an embedded PostgreSQL (see persistence/embedded-postgres.ts). */
  readonly databaseUrl: string | undefined;
  /** Unset means single-node mode: in-process live state and Socket.IO adapter. */
  readonly redis: RedisTarget | undefined;
  readonly socketAdapter: 'redis' | 'redis-streams' | 'redis-sharded';
  readonly nodeId: string;
  readonly redisPrefix: string;
  readonly jwtSecret: string;
  /** True when no JWT_SECRET was given and a per-process one was generated (tokens die with the process). */
  readonly jwtSecretGenerated: boolean;
  readonly accessTokenTtlS: number;
  readonly guestTokenTtlS: number;
  /** Where share links point; null: `http://localhost:{the port this node listens on}` (app.ts). */
  readonly publicBaseUrl: string | null;
  readonly activeSpeaker: { readonly thresholdDb: number; readonly minMs: number };
  /** What a room may set as its own speaker_threshold_db and speaker_min_ms. */
  readonly roomSpeakerRanges: { readonly thresholdDb: Range; readonly minMs: Range };
  readonly defaultMaxParticipants: number;
  readonly maxParticipantsLimit: number;
  readonly reconnectGraceS: number;
  readonly emptyRoomTimeoutS: number;
  /** An active room with one participant for this long ends; 0 turns it off. */
  readonly soloRoomTimeoutS: number;
  /** A room nobody started ends this long after its scheduled start, or its creation; 0: never. */
  readonly unusedRoomTimeoutS: number;
  /** How long a user the host turned away may not knock on that room again; 0 turns it off. */
  readonly lobbyRejectCooldownS: number;
  /** How long before a room ends at its scheduled end (end_at_scheduled_end) everyone in it is warned. */
  readonly scheduledEndWarningS: number;
  /** How long an invitation stays good (at least until a day after the meeting's planned end). */
  readonly invitationTtlS: number;
  /** How many people one account may invite per hour. */
  readonly invitationsPerHour: number;
  readonly migrateOnStart: boolean;
  /** Worker processes sharing the port through @socket.io/sticky; each is a cluster node. */
  readonly webConcurrency: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Which proxies in front of the node to believe about the client's address (the login throttle's budget per address). */
  readonly trustProxy: TrustProxy;
  /** The ICE servers of calls (docs/calls.md "ICE servers and TURN"). */
  readonly ice: IceConfig;
  /** Lifecycle webhooks (docs/webhooks.md); undefined when WEBHOOK_URL is unset: no outbox rows are written. */
  readonly webhooks: WebhookConfig | undefined;
  /** Invitation emails (docs/email.md); undefined when SMTP_URL is unset: no outbox rows are written. */
  readonly mail: MailConfig | undefined;
}

export interface WebhookConfig {
  readonly endpoints: readonly string[];
  readonly secret: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retentionDays: number;
}

export interface MailConfig {
  /** `smtp://` (STARTTLS when the server offers it) or `smtps://` (TLS from the start), credentials in the URL. */
  readonly smtpUrl: string;
  /** The sender of every email, and the ORGANIZER of its calendar event. `name` is empty when MAIL_FROM has none. */
  readonly from: { readonly name: string; readonly address: string };
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retentionDays: number;
}

/** Thrown when the environment is invalid; `problems` names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the environment into a frozen Config; throws ConfigError listing every bad key. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable (`FOO=` in a .env file) means "not set", not "set to the empty string".
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`));
  }
  const e = parsed.data;
  const config: Config = {
    env: e.NODE_ENV,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    redis: e.REDIS_CLUSTER_NODES
      ? { kind: 'cluster', nodes: e.REDIS_CLUSTER_NODES, url: e.REDIS_URL }
      : e.REDIS_SENTINELS
        ? { kind: 'sentinel', sentinels: e.REDIS_SENTINELS, name: e.REDIS_SENTINEL_NAME!, url: e.REDIS_URL }
        : e.REDIS_URL
          ? { kind: 'url', url: e.REDIS_URL }
          : undefined,
    socketAdapter: e.SOCKET_ADAPTER ?? (e.REDIS_CLUSTER_NODES ? 'redis-sharded' : 'redis'),
    nodeId: e.NODE_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    redisPrefix: e.REDIS_PREFIX,
    jwtSecret: e.JWT_SECRET ?? randomBytes(32).toString('base64url'),
    jwtSecretGenerated: e.JWT_SECRET === undefined,
    accessTokenTtlS: e.ACCESS_TOKEN_TTL_S,
    guestTokenTtlS: e.GUEST_TOKEN_TTL_S,
    publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, '') ?? null,
    activeSpeaker: { thresholdDb: e.ACTIVE_SPEAKER_THRESHOLD_DB, minMs: e.ACTIVE_SPEAKER_MIN_MS },
    roomSpeakerRanges: { thresholdDb: e.ROOM_SPEAKER_THRESHOLD_DB_RANGE, minMs: e.ROOM_SPEAKER_MIN_MS_RANGE },
    defaultMaxParticipants: e.DEFAULT_MAX_PARTICIPANTS,
    maxParticipantsLimit: e.MAX_PARTICIPANTS_LIMIT,
    reconnectGraceS: e.RECONNECT_GRACE_S,
    emptyRoomTimeoutS: e.EMPTY_ROOM_TIMEOUT_S,
    soloRoomTimeoutS: e.SOLO_ROOM_TIMEOUT_S,
    unusedRoomTimeoutS: e.UNUSED_ROOM_TIMEOUT_S,
    lobbyRejectCooldownS: e.LOBBY_REJECT_COOLDOWN_S,
    scheduledEndWarningS: e.SCHEDULED_END_WARNING_S,
    invitationTtlS: e.INVITATION_TTL_S,
    invitationsPerHour: e.INVITATIONS_PER_HOUR,
    migrateOnStart: e.MIGRATE_ON_START ?? e.NODE_ENV !== 'production',
    webConcurrency: e.WEB_CONCURRENCY,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    ice: {
      servers: e.ICE_SERVERS ?? [],
      turn: e.TURN_URLS && e.TURN_SECRET ? { urls: e.TURN_URLS, secret: e.TURN_SECRET, ttlS: e.TURN_TTL_S } : undefined,
      meshMaxParticipants: e.MESH_MAX_PARTICIPANTS,
    },
    webhooks: e.WEBHOOK_URL
      ? {
          endpoints: e.WEBHOOK_URL,
          secret: e.WEBHOOK_SECRET!,
          timeoutMs: e.WEBHOOK_TIMEOUT_MS,
          maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
          retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
          retentionDays: e.WEBHOOK_RETENTION_DAYS,
        }
      : undefined,
    mail:
      e.SMTP_URL && e.MAIL_FROM
        ? {
            smtpUrl: e.SMTP_URL,
            from: e.MAIL_FROM,
            maxAttempts: e.MAIL_MAX_ATTEMPTS,
            retryBaseMs: e.MAIL_RETRY_BASE_MS,
            retentionDays: e.MAIL_RETENTION_DAYS,
          }
        : undefined,
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child);
  }
  return Object.freeze(value);
}
