import type { Client } from 'pg';
import type { ClusterNode } from './cluster';
import { attendanceRows } from './db';
import { rosterAnswer } from './history-checker';
import { guestUser, meetings, type Actor } from './meetings';

/** What the fault tests of a cluster check afterwards: who was told they joined, and that every store agrees. */

/** A room the test keeps joining, and everyone it was told had joined it. */
export interface WatchedRoom {
  code: string;
  host: Actor;
  joined: Set<string>;
}

/** The answers a test saw, by status. */
export type Statuses = Map<number, number>;

/** A new guest joins `room` through `node`; remembered when the answer says joined. */
export async function joinGuest(node: ClusterNode, room: WatchedRoom, name: string, statuses: Statuses): Promise<void> {
  const guest = await guestUser(node, name).catch(() => null);
  if (!guest) return;
  const response = await meetings(node)(guest, 'POST', `/${room.code}/join`, {});
  statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  if (response.status === 200 && response.body.status === 'joined') room.joined.add(guest.userId);
}

/** Only the documented answers while something failed: joined, 503 UNAVAILABLE, 504 ROOM_TIMEOUT. */
export const expectDocumentedAnswers = (statuses: Statuses) => expect([...statuses.keys()].every((status) => [200, 503, 504].includes(status))).toBe(true);

/**
 * Every node (asked again while it answers 503 or 504, up to `settleMs`) and PostgreSQL's open
 * attendance list the same people in the room, and everyone told
 * "joined" is among them (a 503 may still have admitted someone: PostgreSQL had taken it).
 */
export async function expectOneRoster(nodes: ClusterNode[], room: WatchedRoom, db: Client): Promise<void> {
  const [first, ...others] = await Promise.all(nodes.map((node) => settledRoster(node, room)));
  for (const ids of others) expect(ids).toEqual(first);
  for (const userId of room.joined) expect(first).toContain(userId);
  const open = (await attendanceRows(db, room.code)).filter((row) => row.left_at === null).map((row) => row.user_id);
  expect(open.sort()).toEqual(first);
}

/** How long a roster read may answer 503 or 504 ("retry shortly") after the fault before it counts as an answer. */
const settleMs = 10_000;

/**
 * The room's roster as `node` answers it, asked again while it answers 503 or 504: those say
 * "retry", and a node may give them for a moment after the fault (one of its Redis connections
 * still reconnecting, a room still waiting for its owner). Each retry is printed with the node's
 * latest warnings, to tell which; an answer that stays 503 past `settleMs` is the roster compared.
 */
async function settledRoster(node: ClusterNode, room: WatchedRoom): Promise<string[]> {
  const started = Date.now();
  for (;;) {
    const { status, ids } = await rosterAnswer(node, room);
    if ((status !== 503 && status !== 504) || Date.now() - started > settleMs) return ids;
    const warnings = node.logs.filter((line) => /"level":(40|50)/.test(line)).slice(-3);
    console.log(`${ids[0]} for room ${room.code} ${Date.now() - started} ms into the roster check; its latest warnings:\n${warnings.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
