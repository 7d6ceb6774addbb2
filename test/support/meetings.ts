import { randomBytes } from 'node:crypto';
import type { RoomView, SessionView } from '../../src/contract/schemas';
import { testRedisUrl } from './env';
import { registerUser, type Endpoint } from './server';

/** A signed-in user of a test: their token and id. */
export interface Actor {
  token: string;
  userId: string;
  name: string;
}

/** A registered (non-guest) user, who may host rooms. */
export async function hostUser(server: Endpoint, name = 'Host'): Promise<Actor> {
  const session = await registerUser(server, { display_name: name });
  return { token: session.access_token, userId: session.user.id, name };
}

/** A guest user (no password hashing: cheap enough to make dozens). */
export async function guestUser(server: Endpoint, name = 'Guest'): Promise<Actor> {
  const response = await server.request<SessionView>('POST', '/api/v1/auth/guest', { body: { display_name: name } });
  if (response.status !== 201) throw new Error(`guest failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { token: response.body.access_token, userId: response.body.user.id, name };
}

/** Creates a room as `host`, failing the test unless it is 201. */
export async function createRoom(server: Endpoint, host: Actor, body: object = { name: 'Weekly sync' }): Promise<RoomView> {
  const response = await server.request<RoomView>('POST', '/api/v1/meetings', { token: host.token, body });
  if (response.status !== 201) throw new Error(`create room failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Shorthand for a meetings request as `actor`. */
export const meetings = (server: Endpoint) => (actor: Actor, method: string, path: string, body?: unknown) =>
  server.request(method, `/api/v1/meetings${path}`, { token: actor.token, ...(body === undefined ? {} : { body }) });

/** A Redis key prefix of one's own, so parallel test files never see each other's keys. */
export const uniqueRedisPrefix = () => `test-${randomBytes(4).toString('hex')}:`;

/** Both modes of docs/architecture.md: in-process live state, and Redis live state (with a private prefix). */
export function liveStateModes(): [string, Record<string, string>][] {
  return [
    ['in-process live state', {}],
    ['Redis live state', { REDIS_URL: testRedisUrl, REDIS_PREFIX: uniqueRedisPrefix() }],
  ];
}
