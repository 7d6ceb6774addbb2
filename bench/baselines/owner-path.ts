import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { Server } from 'socket.io';
import type { Fence } from '../../src/live-state/fencing';
import type { LiveParticipant } from '../../src/live-state/live-state';
import { ownerKey } from '../../src/live-state/redis-keys';
import { createRedisLiveStateStore } from '../../src/live-state/redis-live-state';
import { roomChannel, userChannel } from '../../src/realtime/channels';
import { freePort } from '../../test/support/ports';
import { serveParent } from '../lib/processes';
import { benchDatabaseUrl } from '../lib/services';

/**
 * The baseline for (b2) speaker change and (c) admit: the work our room owner must do on those
 * paths, done plainly on a bare node, on the bench's PostgreSQL and Redis. Run two or more with
 * the same BASELINE_REDIS_URL and BASELINE_PREFIX: they reach each other's sockets through
 * @socket.io/redis-adapter (our default adapter, Socket.IO's defaults), and each owns the rooms
 * it set up. No auth, no validation, no actor, no routing to an owner elsewhere.
 * - A socket joins its user's channel (`user:{id}`, the id given as handshake `auth.token`);
 *   `room:attach {room_code}` joins the room's channel (`room:{code}`) and acks.
 * - `audio:level {room_code, level}` (socket): the plainest hold there is, a 300 ms timer armed
 *   by a socket's first loud sample (at or above the server's default threshold) and cleared by
 *   a quiet one, as our detectors time it from the first loud sample's arrival. When it fires,
 *   the socket's user takes the floor, unless they have it: a speaker change, the
 *   fenced live-state write of one, with our own store (src/live-state/redis-live-state.ts: its
 *   `fencedWrite` script, checking the room's owner record, then SET room:{code}:active_speaker),
 *   then `speaker:changed` to the room's channel. A stop changes nothing (the floor stays).
 * - `POST /api/v1/meetings/{code}/admit/{user_id}` (node:http): the PostgreSQL transaction of a
 *   fenced admit (room-repository.ts), the fenced live-state write of an admit (HSET participants,
 *   SREM lobby, HDEL lobby_entries, with our store), then what an admit tells the room, in our
 *   owner's order: `lobby:admitted` to the user's channel, the user's sockets into the room's
 *   channel (an adapter request to every node), `participant:joined` to the room's channel (the
 *   guests admitted before, on the other node), then the answer.
 * Rooms are set up over IPC (`speakerRoom`, `lobbyRoom`) on the node that is to own them.
 */
const prefix = process.env.BASELINE_PREFIX ?? 'baseline:';
const redisUrl = process.env.BASELINE_REDIS_URL ?? 'redis://127.0.0.1:6379';
const nodeId = `baseline-${randomBytes(3).toString('hex')}`;
/** Our server's defaults: ACTIVE_SPEAKER_THRESHOLD_DB and ACTIVE_SPEAKER_MIN_MS (src/config/config.ts). */
const speaker = { thresholdDb: -40, minMs: 300 };
/** Our nodes' live-state TTL (src/app.ts) and owner-claim TTL: what the script's PEXPIREs are given. */
const liveStateTtlMs = 24 * 3600_000;
const claimTtlMs = 60_000;

const pool = new Pool({ connectionString: benchDatabaseUrl, max: 10 });
const redis = new Redis(redisUrl);
/** This node's claims: the fence each of its rooms' writes carries. */
const fences = new Map<string, Fence>();
const liveState = createRedisLiveStateStore(redis, { prefix, ttlMs: liveStateTtlMs, fenceOf: (roomCode) => fences.get(roomCode) });
/** The database id of each room set up by `lobbyRoom`. */
const roomIds = new Map<string, string>();

/** Claims a new room for this node: its owner record (`room:{code}:owner`, node and epoch), as our claim script writes it. */
async function claim(): Promise<{ roomCode: string; fence: Fence }> {
  const roomCode = randomBytes(9).toString('base64url');
  const fence = { node: nodeId, epoch: Date.now() * 1000 };
  const key = ownerKey(prefix, roomCode);
  await redis.multi().hset(key, 'node', fence.node, 'epoch', String(fence.epoch)).pexpire(key, claimTtlMs).exec();
  fences.set(roomCode, fence);
  return { roomCode, fence };
}

const liveParticipant = (displayName: string, role: 'host' | 'guest', joinedAt: Date): LiveParticipant => ({
  status: 'connected',
  language: null,
  hardware_ready: false,
  display_name: displayName,
  role,
  joined_at: joinedAt.toISOString(),
  media: null,
});

/**
 * A running room owned here, as (c) has it before its admits: PostgreSQL rows (the host, `guests`
 * guest users, the active room fenced with this claim's epoch, the host's attendance) and a live
 * state with the host in the room and the guests in the lobby. Returns the code and the guests' ids.
 */
async function lobbyRoom({ guests }: { guests: number }): Promise<{ roomCode: string; guestIds: string[] }> {
  const { roomCode, fence } = await claim();
  const roomId = randomUUID();
  const hostId = randomUUID();
  const guestIds = Array.from({ length: guests }, () => randomUUID());
  const now = new Date();
  await pool.query(`insert into users (id, email, display_name, is_guest, created_at) values ($1, $2, 'Bench host', false, now())`, [
    hostId,
    `bench-${hostId}@example.test`,
  ]);
  await pool.query(`insert into users (id, display_name, is_guest, created_at) select id, 'Guest', true, now() from unnest($1::uuid[]) as id`, [guestIds]);
  const settings = { lock_room: true, enable_transcription: false, max_participants: 1000 };
  await pool.query(
    `insert into rooms (id, room_code, host_id, name, status, created_at, started_at, settings, owner_epoch) values ($1, $2, $3, 'Bench', 'active', now(), now(), $4, $5)`,
    [roomId, roomCode, hostId, JSON.stringify(settings), fence.epoch],
  );
  await pool.query(`insert into participants (id, room_id, user_id, role, joined_at) values (gen_random_uuid(), $1, $2, 'host', now())`, [roomId, hostId]);
  roomIds.set(roomCode, roomId);
  const since = now.toISOString();
  await liveState.apply(roomCode, {
    participants: { set: { [hostId]: liveParticipant('Bench host', 'host', now) } },
    lobby: { set: Object.fromEntries(guestIds.map((id) => [id, { display_name: 'Guest', language: null, hardware_ready: false, since }])) },
  });
  return { roomCode, guestIds };
}

/**
 * The admit's PostgreSQL transaction, as our fenced RoomRepository.apply sends it for one
 * `attendanceOpened`: one simple-protocol message (so one transaction) that locks the room row
 * and inserts the attendance under the epoch guard, parameters inlined as literals.
 */
async function openAttendance(roomId: string, userId: string, epoch: number, at: Date): Promise<void> {
  const client = await pool.connect();
  try {
    const room = client.escapeLiteral(roomId);
    const text = `select owner_epoch from rooms where id = ${room} for update;
insert into participants (id, room_id, user_id, role, joined_at)
           select gen_random_uuid(), ${room}::uuid, ${client.escapeLiteral(userId)}::uuid, 'guest', ${client.escapeLiteral(at.toISOString())}::timestamptz where true and exists (select 1 from rooms f where f.id = ${room} and f.owner_epoch = ${epoch})
           on conflict (room_id, user_id) where left_at is null do nothing`;
    const [lock] = (await client.query(text)) as unknown as [{ rows: { owner_epoch: string }[] }];
    if (Number(lock.rows[0]?.owner_epoch) !== epoch) throw new Error(`room ${roomId} has epoch ${lock.rows[0]?.owner_epoch}, this node ${epoch}`);
  } finally {
    client.release();
  }
}

async function admit(io: Server, roomCode: string, userId: string): Promise<object> {
  const roomId = roomIds.get(roomCode);
  const fence = fences.get(roomCode);
  if (!roomId || !fence) throw new Error(`room ${roomCode} is not set up here`);
  const at = new Date();
  await openAttendance(roomId, userId, fence.epoch, at);
  const participant = liveParticipant('Guest', 'guest', at);
  await liveState.apply(roomCode, { participants: { set: { [userId]: participant } }, lobby: { delete: [userId] } });
  const view = { user_id: userId, ...participant };
  io.to(userChannel(userId)).emit('lobby:admitted', { room_code: roomCode });
  io.in(userChannel(userId)).socketsJoin(roomChannel(roomCode));
  io.to(roomChannel(roomCode)).emit('participant:joined', { room_code: roomCode, participant: view });
  return { status: 'admitted', participant: view };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(io: Server, req: IncomingMessage, res: ServerResponse): Promise<void> {
  req.resume();
  const admitPath = /^\/api\/v1\/meetings\/([A-Za-z0-9_-]{12})\/admit\/([0-9a-f-]{36})$/.exec(req.url ?? '');
  if (req.method === 'POST' && admitPath) return send(res, 200, await admit(io, admitPath[1]!, admitPath[2]!));
  send(res, 404, { code: 'NOT_FOUND' });
}

async function main(): Promise<void> {
  const httpServer = createServer((req, res) => {
    handle(io, req, res).catch((error: Error) => send(res, 500, { code: 'INTERNAL', detail: error.message }));
  });
  const io = new Server(httpServer);
  const pub = new Redis(redisUrl, { maxRetriesPerRequest: null });
  io.adapter(createAdapter(pub, pub.duplicate(), { key: `${prefix}socket.io` }));
  /** Who has the floor in each room. */
  const floor = new Map<string, string>();
  const speakerChange = (roomCode: string, userId: string) => {
    if (floor.get(roomCode) === userId) return;
    floor.set(roomCode, userId);
    const at = new Date();
    liveState.apply(roomCode, { activeSpeaker: userId }).then(
      () => io.to(roomChannel(roomCode)).emit('speaker:changed', { room_code: roomCode, user_id: userId, at: at.toISOString() }),
      (error: unknown) => console.error('speaker change failed', error),
    );
  };
  io.on('connection', (socket) => {
    const userId = (socket.handshake.auth as { token?: unknown }).token;
    if (typeof userId === 'string') void socket.join(userChannel(userId));
    socket.on('room:attach', (payload: { room_code?: unknown }, ack?: (reply: unknown) => void) => {
      if (typeof payload?.room_code === 'string') void socket.join(roomChannel(payload.room_code));
      ack?.({ ok: true, data: {} });
    });
    let hold: NodeJS.Timeout | undefined;
    socket.on('audio:level', (payload: { room_code: string; level: number }) => {
      if (typeof userId !== 'string') return;
      if (payload.level < speaker.thresholdDb) {
        clearTimeout(hold);
        hold = undefined;
      } else hold ??= setTimeout(() => speakerChange(payload.room_code, userId), speaker.minMs);
    });
    socket.on('disconnect', () => clearTimeout(hold));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => httpServer.listen(port, '127.0.0.1', resolve));
  serveParent(
    { url: `http://127.0.0.1:${port}` },
    {
      /** A room owned here, for speaker changes: just its owner record. */
      speakerRoom: async () => (await claim()).roomCode,
      lobbyRoom,
    },
  );
}

void main();
