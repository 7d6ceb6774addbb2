import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'pg';
import { freePort } from '../../test/support/ports';
import { serveParent } from '../lib/processes';
import { benchDatabaseUrl } from '../lib/services';

/**
 * The baseline for REST create + join: a bare node:http server doing the durable SQL of the same
 * two requests with plain `pg` (a pool of 10, like ours), on the same tables. No framework, no
 * auth (the caller names its user in `x-user-id`), no validation, no live state, no actor:
 * - `POST /api/v1/meetings` inserts the room row;
 * - `POST /api/v1/meetings/{code}/join` locks the room row, reads the user's name, starts the
 *   room and opens the attendance, in one transaction.
 */
const pool = new Pool({ connectionString: benchDatabaseUrl, max: 10 });

async function readBody(req: IncomingMessage): Promise<any> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function create(userId: string, body: { name?: string; settings?: object }) {
  const code = randomBytes(9).toString('base64url');
  const settings = { lock_room: false, enable_transcription: false, max_participants: 100, ...body.settings };
  const { rows } = await pool.query(
    `insert into rooms (id, room_code, host_id, name, status, created_at, settings) values ($1, $2, $3, $4, 'pending', now(), $5) returning created_at`,
    [randomUUID(), code, userId, body.name ?? 'Bench', JSON.stringify(settings)],
  );
  return { room_code: code, name: body.name, status: 'pending', host_id: userId, settings, created_at: rows[0].created_at };
}

async function join(userId: string, code: string) {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows: rooms } = await client.query('select id, host_id, status from rooms where room_code = $1 for update', [code]);
    const room = rooms[0];
    if (!room) {
      await client.query('rollback');
      return null;
    }
    const { rows: users } = await client.query('select display_name from users where id = $1', [userId]);
    const role = room.host_id === userId ? 'host' : 'guest';
    if (role === 'host') await client.query(`update rooms set status = 'active', started_at = now() where id = $1 and status = 'pending'`, [room.id]);
    await client.query(
      `insert into participants (id, room_id, user_id, role, joined_at) values (gen_random_uuid(), $1, $2, $3, now())
       on conflict (room_id, user_id) where left_at is null do nothing`,
      [room.id, userId, role],
    );
    await client.query('commit');
    return { status: 'joined', participant: { user_id: userId, display_name: users[0]?.display_name, role } };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const userId = String(req.headers['x-user-id'] ?? '');
  const body = await readBody(req);
  if (req.method === 'POST' && req.url === '/api/v1/meetings') return send(res, 201, await create(userId, body));
  const joinPath = /^\/api\/v1\/meetings\/([A-Za-z0-9_-]{12})\/join$/.exec(req.url ?? '');
  if (req.method === 'POST' && joinPath) {
    const joined = await join(userId, joinPath[1]!);
    return joined ? send(res, 200, joined) : send(res, 404, { code: 'ROOM_NOT_FOUND' });
  }
  send(res, 404, { code: 'NOT_FOUND' });
}

async function main(): Promise<void> {
  const hostId = randomUUID();
  await pool.query(`insert into users (id, email, display_name, is_guest, created_at) values ($1, $2, 'Bench host', false, now())`, [
    hostId,
    `bench-${hostId}@example.test`,
  ]);
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => send(res, 500, { code: 'INTERNAL', detail: error.message }));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  serveParent({ url: `http://127.0.0.1:${port}`, hostId }, {});
}

void main();
