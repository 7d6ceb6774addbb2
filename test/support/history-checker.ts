import type { Cluster, Redis } from 'ioredis';
import type { Client } from 'pg';
import { liveStateKeys, ownerKey } from '../../src/live-state/redis-keys';
import type { ClusterNode } from './cluster';
import { attendanceRows } from './db';
import type { Call, History, Op, WorkloadRoom } from './partition-workload';

/**
 * The partition suite's checker (docs/fault-tests.md): from the history of a workload
 * (partition-workload.ts) and what the stores hold once it stopped, every way the run could have
 * gone wrong, as a list of violations (empty when none). Reads only: every node's view of each
 * room, PostgreSQL's attendance and the room row, Redis's participants and owner record.
 */

/** The answers each request may get: its successes and documented refusals, and 503/504 (which may or may not have happened). */
const documented: Record<Op, number[]> = {
  guest: [201, 503],
  join: [200, 409, 503, 504],
  attach: [200, 403, 409, 503, 504],
  leave: [200, 503, 504],
  participants: [200, 503, 504],
  admit: [200, 409, 503, 504],
  reject: [200, 409, 503, 504],
  remove: [200, 409, 503, 504],
};

export interface Stores {
  nodes: ClusterNode[];
  db: Client;
  redis: Redis | Cluster;
  prefix: string;
}

/** What the checker found: violations (none allowed), and the late events of a deposed owner (the one known anomaly, see impossibleEvents). */
export interface Findings {
  violations: string[];
  late: string[];
}

/** How long after a fault heals a deposed owner's events may still arrive. */
const lateWindowMs = 1000;

export async function checkHistory(history: History, rooms: WorkloadRoom[], stores: Stores, healedAt: number): Promise<Findings> {
  const { violations, late } = impossibleEvents(history, healedAt);
  violations.unshift(...undocumentedAnswers(history.calls));
  for (const room of rooms) violations.push(...(await checkRoom(room, history, stores)));
  return { violations, late };
}

function undocumentedAnswers(calls: Call[]): string[] {
  return calls
    .filter((call) => call.outcome !== 'timeout' && !documented[call.op].includes(call.outcome))
    .map((call) => `${call.op} through ${call.node} answered ${call.outcome} ${call.detail ?? ''}`);
}

/**
 * What no client may see, whatever was lost on the way: a guest joins once, so per socket each
 * user joins (`participant:joined`) and leaves (`participant:left`) at most once; nobody is seated
 * after being told `lobby:rejected` or `participant:removed`; no room of the workload ends.
 *
 * One anomaly is known (docs/fault-tests.md "Found"): an owner cut off from Redis (or paused)
 * just after publishing a room event has that event held in the network; it reaches the room's
 * sockets when the link heals, after what the room's next owner published meanwhile, so an
 * observer sees someone join after they left. Such a late `participant:joined` is listed apart
 * when it arrives within `lateWindowMs` of the heal, and is a violation at any other time.
 */
function impossibleEvents(history: History, healedAt: number): Findings {
  const violations: string[] = [];
  const late: string[] = [];
  for (const log of history.sockets) {
    const joined = new Map<string, number>();
    const left = new Map<string, number>();
    let turnedAway: string | null = null;
    for (const [i, { event, payload }] of log.events.entries()) {
      const where = `socket of ${log.actor} in ${log.room}, event ${i} (${event})`;
      if (event === 'room:ended') violations.push(`${where}: the room ended`);
      if (event === 'lobby:rejected' || event === 'participant:removed') turnedAway = event;
      if (event === 'participant:joined') {
        const user: string = payload.participant.user_id;
        if (joined.has(user)) violations.push(`${where}: ${user} joined twice`);
        const at = log.events[i]!.at;
        const afterLeaving = `${where}: ${user} joined ${at - log.events[left.get(user) ?? i]!.at} ms after leaving, ${at - healedAt} ms after the heal`;
        if (left.has(user)) (at >= healedAt && at < healedAt + lateWindowMs ? late : violations).push(afterLeaving);
        if (user === log.actor && turnedAway) violations.push(`${where}: seated after ${turnedAway}`);
        joined.set(user, i);
      }
      if (event === 'participant:left') {
        if (left.has(payload.user_id)) violations.push(`${where}: ${payload.user_id} left twice`);
        left.set(payload.user_id, i);
      }
    }
  }
  return { violations, late };
}

/**
 * One room after the workload: every node, PostgreSQL's open attendance and Redis list the same
 * people; everyone who was told they are in and did not leave is among them and nobody told they
 * are out; PostgreSQL's history never seated more guests than the cap nor anyone twice at once
 * (two owners writing would); anyone rejected never sat; PostgreSQL's fence is not ahead of the
 * owner record's.
 */
async function checkRoom(room: WorkloadRoom, history: History, { nodes, db, redis, prefix }: Stores): Promise<string[]> {
  const violations: string[] = [];
  const say = (text: string) => violations.push(`room ${room.code}: ${text}`);
  const rosters = await Promise.all(nodes.map((node) => roster(node, room)));
  const [first] = rosters;
  for (const [i, ids] of rosters.entries()) if (ids.join() !== first!.join()) say(`${nodes[i]!.id} lists ${ids.join()} but ${nodes[0]!.id} ${first!.join()}`);
  const rows = await attendance(db, room.code);
  const open = rows.filter((row) => row.left === null).map((row) => row.userId);
  if ([...open].sort().join() !== first!.join()) say(`PostgreSQL's open attendance ${[...open].sort().join()} differs from the room's ${first!.join()}`);
  const live = (await redis.hkeys(liveStateKeys(prefix, room.code).participants)).sort();
  if (live.join() !== first!.join()) say(`Redis holds ${live.join()} but the room lists ${first!.join()}`);

  for (const [guest, belief] of finalBeliefs(room, history)) {
    if (belief === 'in' && !first!.includes(guest)) say(`${guest} was told they are in, and is not`);
    if (belief === 'out' && first!.includes(guest)) say(`${guest} was told they are out, and is in`);
  }
  const rejected = history.calls.filter((call) => call.room === room.code && call.op === 'reject' && call.outcome === 200).map((call) => call.target);
  for (const guest of rejected) if (rows.some((row) => row.userId === guest)) say(`${guest} was rejected (200) yet has attendance`);

  const guestRows = rows.filter((row) => row.userId !== room.host.userId);
  if (mostAtOnce(guestRows) > room.cap) say(`PostgreSQL seated ${mostAtOnce(guestRows)} guests at once, the cap is ${room.cap}`);
  for (const [i, row] of rows.entries()) {
    const overlapping = rows.find(
      (other, j) => j > i && other.userId === row.userId && other.joined < (row.left ?? Infinity) && row.joined < (other.left ?? Infinity),
    );
    if (overlapping) say(`${row.userId} was seated twice at once`);
  }
  const fenced = Number((await db.query('select owner_epoch from rooms where room_code = $1', [room.code])).rows[0].owner_epoch);
  const claimed = Number(await redis.hget(ownerKey(prefix, room.code), 'epoch'));
  if (fenced > claimed) say(`PostgreSQL's epoch ${fenced} is ahead of the owner record's ${claimed}`);
  return violations;
}

/** Each guest's belief, corrected by what the host was told: a removal answered 200 puts them out, one without answer makes it unknown. */
function finalBeliefs(room: WorkloadRoom, history: History): Map<string, string> {
  const beliefs = new Map<string, string>(history.beliefs.get(room.code));
  for (const call of history.calls) {
    if (call.room !== room.code || call.op !== 'remove' || !call.target || beliefs.get(call.target) !== 'in') continue;
    if (call.outcome === 200) beliefs.set(call.target, 'out');
    else if (call.outcome === 'timeout' || call.outcome >= 500) beliefs.set(call.target, 'unknown');
  }
  return beliefs;
}

/** The ids of the room's participants as `node` lists them to its host, sorted (a placeholder when it does not answer). */
export async function roster(node: ClusterNode, room: { code: string; host: { token: string } }): Promise<string[]> {
  return (await rosterAnswer(node, room)).ids;
}

/** `roster`, with the status of the answer beside it. */
export async function rosterAnswer(node: ClusterNode, room: { code: string; host: { token: string } }): Promise<{ status: number; ids: string[] }> {
  const response = await node.request('GET', `/api/v1/meetings/${room.code}/participants`, { token: room.host.token });
  if (response.status !== 200) return { status: response.status, ids: [`(${node.id} answered ${response.status})`] };
  return { status: 200, ids: (response.body.participants as { user_id: string }[]).map((p) => p.user_id).sort() };
}

/** One attendance row: a seat taken and, unless still taken, given up (epoch ms). */
export interface Seat {
  userId: string;
  joined: number;
  left: number | null;
}

/** PostgreSQL's attendance history of a room, every row. */
export async function attendance(db: Client, code: string): Promise<Seat[]> {
  const rows = await attendanceRows(db, code);
  return rows.map((row) => ({ userId: row.user_id, joined: row.joined_at.getTime(), left: row.left_at?.getTime() ?? null }));
}

/** The most seats taken at one moment (a leave before a join at the same instant). */
export function mostAtOnce(seats: Seat[]): number {
  const changes = seats.flatMap((seat) => [{ at: seat.joined, delta: 1 }, ...(seat.left === null ? [] : [{ at: seat.left, delta: -1 }])]);
  changes.sort((x, y) => x.at - y.at || x.delta - y.delta);
  let seated = 0;
  let most = 0;
  for (const { delta } of changes) most = Math.max(most, (seated += delta));
  return most;
}

/**
 * What the clients saw, for the report: answers per request kind, the slowest answer, and the
 * longest time no request succeeded until the workload was told to stop (after that, only the
 * clients still waiting for an answer remain, and their gaps mean nothing).
 */
export function summarize(history: History, stoppedAt: number): string {
  const counts = new Map<string, number>();
  for (const call of history.calls) counts.set(`${call.op} ${call.outcome}`, (counts.get(`${call.op} ${call.outcome}`) ?? 0) + 1);
  const answered = history.calls
    .filter((call) => call.outcome !== 'timeout' && call.outcome < 300 && call.endedAt <= stoppedAt)
    .sort((x, y) => x.endedAt - y.endedAt);
  let longestGap = 0;
  for (let i = 1; i < answered.length; i++) longestGap = Math.max(longestGap, answered[i]!.endedAt - answered[i - 1]!.endedAt);
  const slowest = Math.max(...history.calls.map((call) => call.endedAt - call.startedAt));
  const table = [...counts].sort().map(([key, n]) => `${key}: ${n}`);
  return `${history.calls.length} requests (${table.join(', ')}); slowest ${slowest} ms; longest with no success ${longestGap} ms`;
}
