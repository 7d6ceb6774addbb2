import { ConfigError, loadConfig } from '../../src/config/config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('applies the documented defaults when nothing is set (single node, embedded database)', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      port: 3000,
      databaseUrl: undefined,
      redis: undefined,
      socketAdapter: 'redis',
      redisPrefix: '',
      jwtSecretGenerated: true,
      accessTokenTtlS: 3600,
      guestTokenTtlS: 43_200,
      publicBaseUrl: null,
      activeSpeaker: { thresholdDb: -40, minMs: 300 },
      roomSpeakerRanges: { thresholdDb: { min: -70, max: -10 }, minMs: { min: 100, max: 3000 } },
      defaultMaxParticipants: 100,
      maxParticipantsLimit: 1000,
      reconnectGraceS: 30,
      emptyRoomTimeoutS: 300,
      soloRoomTimeoutS: 0,
      unusedRoomTimeoutS: 86_400,
      lobbyRejectCooldownS: 0,
      migrateOnStart: true,
      webConcurrency: 1,
      logLevel: 'info',
      trustProxy: false,
    });
    expect(config.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.nodeId).toMatch(/^.+-\d+-[0-9a-f]{6}$/);
  });

  it('generates a different secret per process start in development', () => {
    expect(loadConfig({}).jwtSecret).not.toBe(loadConfig({}).jwtSecret);
  });

  it('parses every variable', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      DATABASE_URL: 'postgres://app:pw@db:5432/meetings',
      REDIS_URL: 'redis://cache:6379/2',
      SOCKET_ADAPTER: 'redis-streams',
      NODE_ID: 'node-a',
      REDIS_PREFIX: 'staging:',
      JWT_SECRET: 'x'.repeat(40),
      ACCESS_TOKEN_TTL_S: '600',
      GUEST_TOKEN_TTL_S: '1200',
      PUBLIC_BASE_URL: 'https://meet.example.com/',
      ACTIVE_SPEAKER_THRESHOLD_DB: '-35.5',
      ACTIVE_SPEAKER_MIN_MS: '250',
      ROOM_SPEAKER_THRESHOLD_DB_RANGE: '-60.5, -20',
      ROOM_SPEAKER_MIN_MS_RANGE: '0,1000',
      DEFAULT_MAX_PARTICIPANTS: '50',
      MAX_PARTICIPANTS_LIMIT: '500',
      RECONNECT_GRACE_S: '10',
      EMPTY_ROOM_TIMEOUT_S: '60',
      SOLO_ROOM_TIMEOUT_S: '900',
      UNUSED_ROOM_TIMEOUT_S: '3600',
      LOBBY_REJECT_COOLDOWN_S: '120',
      SCHEDULED_END_WARNING_S: '60',
      INVITATION_TTL_S: '86400',
      INVITATIONS_PER_HOUR: '50',
      MIGRATE_ON_START: 'true',
      WEB_CONCURRENCY: '4',
      LOG_LEVEL: 'warn',
      TRUST_PROXY: '1',
      ICE_SERVERS: 'stun:stun.example.com:3478, turns:turn.example.com:5349',
      TURN_URLS: 'turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349',
      TURN_SECRET: 's'.repeat(32),
      TURN_TTL_S: '3600',
      MESH_MAX_PARTICIPANTS: '4',
    });
    expect(config).toEqual({
      env: 'production',
      port: 8080,
      databaseUrl: 'postgres://app:pw@db:5432/meetings',
      redis: { kind: 'url', url: 'redis://cache:6379/2' },
      socketAdapter: 'redis-streams',
      nodeId: 'node-a',
      redisPrefix: 'staging:',
      jwtSecret: 'x'.repeat(40),
      jwtSecretGenerated: false,
      accessTokenTtlS: 600,
      guestTokenTtlS: 1200,
      publicBaseUrl: 'https://meet.example.com',
      activeSpeaker: { thresholdDb: -35.5, minMs: 250 },
      roomSpeakerRanges: { thresholdDb: { min: -60.5, max: -20 }, minMs: { min: 0, max: 1000 } },
      defaultMaxParticipants: 50,
      maxParticipantsLimit: 500,
      reconnectGraceS: 10,
      emptyRoomTimeoutS: 60,
      soloRoomTimeoutS: 900,
      unusedRoomTimeoutS: 3600,
      lobbyRejectCooldownS: 120,
      scheduledEndWarningS: 60,
      invitationTtlS: 86_400,
      invitationsPerHour: 50,
      migrateOnStart: true,
      webConcurrency: 4,
      logLevel: 'warn',
      trustProxy: 1,
      ice: {
        servers: [{ urls: 'stun:stun.example.com:3478' }, { urls: 'turns:turn.example.com:5349' }],
        turn: { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'], secret: 's'.repeat(32), ttlS: 3600 },
        meshMaxParticipants: 4,
      },
      webhooks: undefined,
      mail: undefined,
    });
  });

  it('reads the mail settings: SMTP_URL and MAIL_FROM together, or neither', () => {
    expect(loadConfig({}).mail).toBeUndefined();
    expect(loadConfig({ SMTP_URL: 'smtp://user:pass@127.0.0.1:2525', MAIL_FROM: 'Meetings <meetings@example.com>' }).mail).toEqual({
      smtpUrl: 'smtp://user:pass@127.0.0.1:2525',
      from: { name: 'Meetings', address: 'meetings@example.com' },
      maxAttempts: 8,
      retryBaseMs: 30_000,
      retentionDays: 30,
    });
    const config = loadConfig({
      SMTP_URL: 'smtps://mail.example.com',
      MAIL_FROM: 'meetings@example.com',
      MAIL_MAX_ATTEMPTS: '3',
      MAIL_RETRY_BASE_MS: '50',
      MAIL_RETENTION_DAYS: '2',
    });
    expect(config.mail).toEqual({
      smtpUrl: 'smtps://mail.example.com',
      from: { name: '', address: 'meetings@example.com' },
      maxAttempts: 3,
      retryBaseMs: 50,
      retentionDays: 2,
    });
    expect(loadConfig({ SMTP_URL: 'smtp://h', MAIL_FROM: '"Team, Inc." <team@example.com>' }).mail?.from).toEqual({
      name: 'Team, Inc.',
      address: 'team@example.com',
    });
  });

  it('refuses bad mail settings with a clear message', () => {
    expect(problemsOf({ SMTP_URL: 'smtp://127.0.0.1:2525' })).toEqual([expect.stringMatching(/^MAIL_FROM: SMTP_URL and MAIL_FROM go together/)]);
    expect(problemsOf({ MAIL_FROM: 'meetings@example.com' })).toEqual([expect.stringMatching(/^SMTP_URL: SMTP_URL and MAIL_FROM go together/)]);
    expect(problemsOf({ SMTP_URL: 'http://mail.example.com', MAIL_FROM: 'a@example.com' })).toEqual([expect.stringMatching(/^SMTP_URL: must be an smtp:\/\//)]);
    for (const bad of ['meetings', 'Meetings <>', 'Meetings <a@b@c>', 'a@example.com, b@example.com', 'Meetings <a@example.com']) {
      expect(problemsOf({ SMTP_URL: 'smtp://h', MAIL_FROM: bad })).toEqual([expect.stringMatching(/^MAIL_FROM: must be an email address/)]);
    }
    for (const [key, bad] of [
      ['MAIL_MAX_ATTEMPTS', '0'],
      ['MAIL_MAX_ATTEMPTS', 'many'],
      ['MAIL_RETRY_BASE_MS', '5'],
      ['MAIL_RETENTION_DAYS', '0'],
    ] as const) {
      expect(problemsOf({ SMTP_URL: 'smtp://h', MAIL_FROM: 'a@example.com', [key]: bad })).toEqual([expect.stringMatching(new RegExp(`^${key}: `))]);
    }
  });

  it('reads ICE_SERVERS as JSON or a list of URLs, and TURN_URLS only with TURN_SECRET', () => {
    const json = '[{"urls": ["turn:t.example.com:3478"], "username": "u", "credential": "c"}]';
    expect(loadConfig({ ICE_SERVERS: json }).ice).toEqual({
      servers: [{ urls: ['turn:t.example.com:3478'], username: 'u', credential: 'c' }],
      turn: undefined,
      meshMaxParticipants: 4,
    });
    expect(loadConfig({}).ice).toEqual({ servers: [], turn: undefined, meshMaxParticipants: 4 });
    for (const [env, key] of [
      [{ ICE_SERVERS: 'http://example.com' }, 'ICE_SERVERS'],
      [{ ICE_SERVERS: '[{"urls": "stun:x", "extra": 1}]' }, 'ICE_SERVERS'],
      [{ ICE_SERVERS: '[not json' }, 'ICE_SERVERS'],
      [{ TURN_URLS: 'turn:t.example.com' }, 'TURN_SECRET'],
      [{ TURN_SECRET: 's'.repeat(32) }, 'TURN_URLS'],
      [{ TURN_URLS: 'stun:t.example.com', TURN_SECRET: 's'.repeat(32) }, 'TURN_URLS'],
      [{ TURN_URLS: 'turn:t.example.com', TURN_SECRET: 'short' }, 'TURN_SECRET'],
    ] as const) {
      expect(() => loadConfig(env)).toThrow(new RegExp(`${key}:`));
    }
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.activeSpeaker)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' })).toMatchObject({ port: 3000, databaseUrl: undefined });
  });

  it('lists every bad variable at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://db/x',
      SOCKET_ADAPTER: 'kafka',
      ACCESS_TOKEN_TTL_S: '-5',
      MIGRATE_ON_START: 'maybe',
      ACTIVE_SPEAKER_THRESHOLD_DB: '10',
      NODE_ID: 'has spaces',
    });
    const keys = problems.map((problem) => problem.split(':')[0]);
    expect(keys).toEqual(
      expect.arrayContaining(['PORT', 'DATABASE_URL', 'SOCKET_ADAPTER', 'ACCESS_TOKEN_TTL_S', 'MIGRATE_ON_START', 'ACTIVE_SPEAKER_THRESHOLD_DB', 'NODE_ID']),
    );
    expect(problems).toHaveLength(7);
  });

  it('puts every problem in the error message', () => {
    expect(() => loadConfig({ PORT: '70000', LOG_LEVEL: 'loud' })).toThrow(/PORT:[\s\S]*LOG_LEVEL:/);
  });

  it('requires JWT_SECRET in production and does not migrate on start there by default', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^JWT_SECRET: .*production/)]);
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) });
    expect(config).toMatchObject({ jwtSecretGenerated: false, migrateOnStart: false });
  });

  it('rejects a short JWT_SECRET', () => {
    expect(problemsOf({ JWT_SECRET: 'short' })).toEqual([expect.stringMatching(/^JWT_SECRET: .*32/)]);
  });

  it('requires DATABASE_URL in cluster mode', () => {
    expect(problemsOf({ REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([expect.stringMatching(/^DATABASE_URL: .*cluster/)]);
  });

  it('reads REDIS_SENTINELS and REDIS_SENTINEL_NAME together, REDIS_URL then giving only credentials and database', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 's1:26379, 10.0.0.2:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'meetings',
      REDIS_URL: 'redis://:pw@ignored:6379/3',
      DATABASE_URL: 'postgres://d/x',
    });
    expect(config.redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'meetings',
      url: 'redis://:pw@ignored:6379/3',
    });
    expect(problemsOf({ REDIS_SENTINELS: 's1:26379', DATABASE_URL: 'postgres://d/x' })).toEqual([expect.stringMatching(/^REDIS_SENTINEL_NAME: .*go together/)]);
    expect(problemsOf({ REDIS_SENTINEL_NAME: 'meetings', DATABASE_URL: 'postgres://d/x' })).toEqual([expect.stringMatching(/^REDIS_SENTINELS: .*go together/)]);
    expect(problemsOf({ REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'm', DATABASE_URL: 'postgres://d/x' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINELS: must be host:port/),
    ]);
    expect(problemsOf({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm' })).toEqual([expect.stringMatching(/^DATABASE_URL: .*cluster/)]);
  });

  it('reads REDIS_CLUSTER_NODES: a Redis Cluster, the sharded adapter by default, REDIS_URL giving only credentials', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: 'r1:7000,10.0.0.2:7001', REDIS_URL: 'redis://u:pw@ignored:6379', DATABASE_URL: 'postgres://d/x' });
    expect(config.redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'r1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      url: 'redis://u:pw@ignored:6379',
    });
    expect(config.socketAdapter).toBe('redis-sharded');
    expect(loadConfig({ REDIS_URL: 'redis://r:6379', DATABASE_URL: 'postgres://d/x' }).socketAdapter).toBe('redis');
    const cluster = { REDIS_CLUSTER_NODES: 'r1:7000', DATABASE_URL: 'postgres://d/x' };
    expect(problemsOf({ ...cluster, SOCKET_ADAPTER: 'redis' })).toEqual([expect.stringMatching(/^SOCKET_ADAPTER: must be redis-sharded/)]);
    expect(problemsOf({ ...cluster, SOCKET_ADAPTER: 'redis-streams' })).toEqual([expect.stringMatching(/^SOCKET_ADAPTER: must be redis-sharded/)]);
    expect(problemsOf({ ...cluster, REDIS_URL: 'redis://r:6379/2' })).toEqual([expect.stringMatching(/^REDIS_URL: must name database 0/)]);
    expect(problemsOf({ ...cluster, REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm' })).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER_NODES: cannot be used with/),
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'r1' })).toEqual(expect.arrayContaining([expect.stringMatching(/^REDIS_CLUSTER_NODES: must be host:port/)]));
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'r1:7000' })).toEqual([expect.stringMatching(/^DATABASE_URL: .*cluster/)]);
  });

  it('runs several workers only as a cluster (REDIS_URL)', () => {
    expect(problemsOf({ WEB_CONCURRENCY: '2' })).toEqual([expect.stringMatching(/^WEB_CONCURRENCY: .*REDIS_URL/)]);
    expect(problemsOf({ WEB_CONCURRENCY: '0' })).toEqual([expect.stringMatching(/^WEB_CONCURRENCY: /)]);
    expect(loadConfig({ WEB_CONCURRENCY: '3', REDIS_URL: 'redis://r:6379', DATABASE_URL: 'postgres://d/x' }).webConcurrency).toBe(3);
  });

  it('keeps the default room size within the limit', () => {
    expect(problemsOf({ DEFAULT_MAX_PARTICIPANTS: '200', MAX_PARTICIPANTS_LIMIT: '150' })).toEqual([expect.stringMatching(/^DEFAULT_MAX_PARTICIPANTS: .*150/)]);
  });

  it('reads TRUST_PROXY as Express takes it: none, all, a hop count, or the proxies', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8, 192.0.2.1' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
    for (const bad of ['yes please', '10.0.0.0/33', '300.1.1.1', 'loopback,', '10.0.0.1/8/1']) {
      expect(problemsOf({ TRUST_PROXY: bad })).toEqual([expect.stringMatching(/^TRUST_PROXY: must be false, true, a hop count/)]);
    }
  });

  it('reads the ranges a room may tune its speaker detection in as min,max', () => {
    expect(loadConfig({ ROOM_SPEAKER_THRESHOLD_DB_RANGE: '-40,-40' }).roomSpeakerRanges.thresholdDb).toEqual({ min: -40, max: -40 });
    for (const bad of ['-10,-70', '-50', '-50,-40,-30', '-130,-10', '-50,5', 'loud,quiet', ',']) {
      expect(problemsOf({ ROOM_SPEAKER_THRESHOLD_DB_RANGE: bad })).toEqual([
        expect.stringMatching(/^ROOM_SPEAKER_THRESHOLD_DB_RANGE: must be min,max: two numbers from -127 to 0/),
      ]);
    }
    for (const bad of ['100.5,200', '-1,200', '100,20000', '300,200']) {
      expect(problemsOf({ ROOM_SPEAKER_MIN_MS_RANGE: bad })).toEqual([
        expect.stringMatching(/^ROOM_SPEAKER_MIN_MS_RANGE: must be min,max: two integers from 0 to 10000/),
      ]);
    }
  });

  it('accepts the usual spellings of booleans', () => {
    expect(loadConfig({ MIGRATE_ON_START: 'false' }).migrateOnStart).toBe(false);
    expect(loadConfig({ MIGRATE_ON_START: '0' }).migrateOnStart).toBe(false);
    expect(loadConfig({ MIGRATE_ON_START: 'yes' }).migrateOnStart).toBe(true);
  });
});
