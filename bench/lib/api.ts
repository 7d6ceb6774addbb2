import { randomUUID } from 'node:crypto';

/** The REST calls benchmarks use to set up users and rooms (docs/api.md), failing loudly. */
export async function call<T = Record<string, any>>(base: string, method: string, path: string, token?: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

export interface Session {
  token: string;
  userId: string;
}

const session = (body: { access_token: string; user: { id: string } }): Session => ({ token: body.access_token, userId: body.user.id });

export const registerHost = async (base: string): Promise<Session> =>
  session(
    await call(base, 'POST', '/auth/register', undefined, {
      email: `bench-${randomUUID()}@example.test`,
      password: 'correct horse battery',
      display_name: 'Bench host',
    }),
  );

export const guest = async (base: string, name = 'Bench guest'): Promise<Session> =>
  session(await call(base, 'POST', '/auth/guest', undefined, { display_name: name }));

export async function createRoom(base: string, host: Session, settings: Record<string, unknown> = {}): Promise<string> {
  const room = await call<{ room_code: string }>(base, 'POST', '/meetings', host.token, { name: 'Bench', settings });
  return room.room_code;
}

export const join = (base: string, code: string, who: Session) => call<{ status: string }>(base, 'POST', `/meetings/${code}/join`, who.token, {});

/** Runs `task` for 0..count-1 with at most `limit` in flight; results in index order. */
export async function pool<T>(count: number, limit: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}

/**
 * `count` guests joined to rooms of `perRoom` (each room created and started by `host`), for
 * socket benchmarks: each entry is one participant who may attach a socket to its room.
 */
export async function seatGuests(base: string, host: Session, count: number, perRoom: number): Promise<{ token: string; roomCode: string }[]> {
  const rooms = await pool(Math.ceil(count / perRoom), 8, async () => {
    const code = await createRoom(base, host, { max_participants: Math.max(2, perRoom) });
    await join(base, code, host);
    return code;
  });
  return pool(count, 16, async (index) => {
    const who = await guest(base, `Guest ${index}`);
    const roomCode = rooms[Math.floor(index / perRoom)]!;
    await join(base, roomCode, who);
    return { token: who.token, roomCode };
  });
}
