import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterNode } from './cluster';
import type { Actor } from './meetings';
import { connectSocket, request as emitWithAck, type ClientSocket } from './sockets';

/**
 * The partition suite's workload and its history (docs/fault-tests.md). Clients on every node
 * create guests, join rooms (some locked, so the host admits or rejects them), stay a little and
 * leave, while each room's host reads the room, admits, rejects and removes people. Every request
 * and its answer, and every event each client's socket received, go into the history the checker
 * (history-checker.ts) reads afterwards. Each client keeps to one node, as behind a sticky load
 * balancer: a node that stalls stalls its own clients, and the others go on.
 *
 * One request per user and room is in flight at a time, so a user's answers come in the order the
 * server applied them. A request with no answer within `timeoutMs` counts as "may or may not have
 * happened"; so do 503 and 504, as the README says.
 */

export type Op = 'guest' | 'join' | 'attach' | 'leave' | 'participants' | 'admit' | 'reject' | 'remove';

export interface Call {
  op: Op;
  actor: string;
  room: string;
  /** The user the host acted on (admit, reject, remove). */
  target?: string;
  node: string;
  /** The HTTP status (attach: 200 or the status of its error code), or 'timeout' when no answer came. */
  outcome: number | 'timeout';
  /** The error code of a refusal, or the join's `status`. */
  detail?: string;
  startedAt: number;
  endedAt: number;
}

export interface WorkloadRoom {
  code: string;
  host: Actor;
  cap: number;
  locked: boolean;
}

/** What one user's socket received, in order, with when (epoch ms). */
export interface SocketLog {
  actor: string;
  room: string;
  events: { event: string; payload: any; at: number }[];
}

/** What a guest believes at the end, from what they were told: in the room, out of it, or unknown (a maybe). */
export type Belief = 'in' | 'out' | 'unknown';

export interface History {
  calls: Call[];
  sockets: SocketLog[];
  /** room code → guest id → belief, from the guest's own answers and events. */
  beliefs: Map<string, Map<string, Belief>>;
}

export interface Workload {
  history: History;
  /**
   * One more visit, now, by a guest made beforehand, to any room (a test times it to a fault);
   * recorded like the others. `stay`: once seated, the guest stays to the end.
   */
  visit(node: ClusterNode, room: WorkloadRoom, guest: Actor, options?: { stay: boolean }): Promise<void>;
  /** Stops new visits; seated guests stay, everyone else finishes leaving. Resolves when every client is done. */
  stop(): Promise<void>;
  /** The requests waiting for their answers now, oldest first (for a test that takes too long to say why). */
  inFlight(): string[];
}

const attachStatus: Record<string, number> = { UNAVAILABLE: 503, ROOM_TIMEOUT: 504, NOT_A_PARTICIPANT: 409, REMOVED_FROM_ROOM: 403, ROOM_NOT_FOUND: 404 };

export function startWorkload(nodes: ClusterNode[], rooms: WorkloadRoom[], options: { timeoutMs: number }): Workload {
  const history: History = { calls: [], sockets: [], beliefs: new Map(rooms.map((room) => [room.code, new Map()])) };
  let running = true;
  const waiting = new Set<{ what: string; startedAt: number }>();

  /** One REST request through `node`, recorded with its answer. */
  async function call(op: Op, actor: { token?: string; userId: string }, room: string, node: ClusterNode, method: string, path: string, target?: string) {
    const startedAt = Date.now();
    const pending = { what: `${op} of ${actor.userId || 'a new guest'} in ${room} through ${node.id}`, startedAt };
    waiting.add(pending);
    const record = (outcome: Call['outcome'], detail?: string) => {
      waiting.delete(pending);
      history.calls.push({ op, actor: actor.userId, room, target, node: node.id, outcome, detail, startedAt, endedAt: Date.now() });
    };
    try {
      const body = method === 'POST' ? (op === 'guest' ? { display_name: 'Partition guest' } : {}) : undefined;
      const response = await node.request(method, path, { token: actor.token, body, signal: AbortSignal.timeout(options.timeoutMs) });
      record(response.status, response.body?.code ?? response.body?.status);
      return response;
    } catch {
      record('timeout');
      return null;
    }
  }

  /** A socket of `actor` on `node`, recording everything it receives; null when it could not connect. */
  async function watch(node: ClusterNode, actor: Actor, room: string): Promise<ClientSocket | null> {
    const socket = await connectSocket(node, actor.token).catch(() => null);
    if (!socket) return null;
    const log: SocketLog = { actor: actor.userId, room, events: [] };
    history.sockets.push(log);
    socket.onAny((event: string, payload: unknown) => log.events.push({ event, payload, at: Date.now() }));
    return socket;
  }

  async function attach(node: ClusterNode, socket: ClientSocket, actor: Actor, room: string) {
    const startedAt = Date.now();
    const pending = { what: `attach of ${actor.userId} in ${room} through ${node.id}`, startedAt };
    waiting.add(pending);
    const reply = await emitWithAck(socket, 'room:attach', { room_code: room }, options.timeoutMs).catch(() => null);
    waiting.delete(pending);
    const outcome = reply === null ? 'timeout' : reply.ok ? 200 : (attachStatus[reply.error.code] ?? 500);
    history.calls.push({ op: 'attach', actor: actor.userId, room, node: node.id, outcome, detail: reply?.error?.code, startedAt, endedAt: Date.now() });
  }

  /** The next of these events for the socket's user in this room, or null after `ms` (or at stop). */
  async function told(socket: ClientSocket, events: string[], ms: number): Promise<string | null> {
    let heard: string | null = null;
    const listener = (event: string) => void (events.includes(event) && (heard ??= event));
    socket.onAny(listener);
    for (const until = Date.now() + ms; heard === null && running && Date.now() < until;) await sleep(20);
    socket.offAny(listener);
    return heard;
  }

  /** `leave` until a definite answer: the guest is then out of the room and its lobby. */
  async function leave(node: ClusterNode, guest: Actor, room: string): Promise<boolean> {
    for (const until = Date.now() + 4 * options.timeoutMs; Date.now() < until; await sleep(200)) {
      const response = await call('leave', guest, room, node, 'POST', `/api/v1/meetings/${room}/leave`);
      if (response?.status === 200) return true;
    }
    return false;
  }

  /** A new guest arrives through `node` and visits the room. */
  async function arrive(node: ClusterNode, room: WorkloadRoom): Promise<void> {
    const created = await call('guest', { userId: '' }, room.code, node, 'POST', '/api/v1/auth/guest');
    if (created?.status !== 201) return sleep(100);
    await visit(node, room, { token: created.body.access_token, userId: created.body.user.id, name: 'Partition guest' });
  }

  /**
   * One guest's visit: join (while their socket connects); when seated, stay a while (or to the
   * end); when waiting, wait for the host's word.
   */
  async function visit(node: ClusterNode, room: WorkloadRoom, guest: Actor, stay = false): Promise<void> {
    if (!history.beliefs.has(room.code)) history.beliefs.set(room.code, new Map());
    const beliefs = history.beliefs.get(room.code)!;
    beliefs.set(guest.userId, 'unknown');
    const connecting = watch(node, guest, room.code);
    const join = await call('join', guest, room.code, node, 'POST', `/api/v1/meetings/${room.code}/join`);
    const socket = await connecting;
    try {
      if (join?.status === 409) return void beliefs.set(guest.userId, 'out');
      let seated = join?.status === 200 && join.body.status === 'joined';
      if (join?.status === 200 && join.body.status === 'waiting' && socket) {
        const word = await told(socket, ['lobby:admitted', 'lobby:rejected'], 1500);
        if (word === 'lobby:rejected') return void beliefs.set(guest.userId, 'out');
        seated = word === 'lobby:admitted';
      }
      if (seated) {
        beliefs.set(guest.userId, 'in');
        if (socket) await attach(node, socket, guest, room.code);
        const removed = socket ? await told(socket, ['participant:removed'], stay ? Infinity : 100 + Math.random() * 400) : null;
        if (removed) return void beliefs.set(guest.userId, 'out');
        if (!running) return;
      }
      // Waiting with no word, seated and done, or no definite answer: leave.
      beliefs.set(guest.userId, (await leave(node, guest, room.code)) ? 'out' : 'unknown');
    } finally {
      socket?.close();
    }
  }

  /** The host: reads the room, admits or rejects the first in its lobby, now and then removes a guest. */
  async function moderate(node: ClusterNode, room: WorkloadRoom): Promise<void> {
    const socket = await watch(node, room.host, room.code);
    if (socket) await attach(node, socket, room.host, room.code);
    while (running) {
      await sleep(50 + Math.random() * 100);
      const view = await call('participants', room.host, room.code, node, 'GET', `/api/v1/meetings/${room.code}/participants`);
      if (view?.status !== 200) continue;
      const first: string | undefined = view.body.lobby?.[0]?.user_id;
      const guests: string[] = view.body.participants.map((p: { user_id: string }) => p.user_id).filter((id: string) => id !== room.host.userId);
      if (first) {
        const verdict = Math.random() < 0.8 ? 'admit' : 'reject';
        await call(verdict, room.host, room.code, node, 'POST', `/api/v1/meetings/${room.code}/${verdict}/${first}`, first);
      } else if (guests.length > 0 && Math.random() < 0.15) {
        const target = guests[Math.floor(Math.random() * guests.length)]!;
        await call('remove', room.host, room.code, node, 'POST', `/api/v1/meetings/${room.code}/remove/${target}`, target);
      }
    }
    socket?.close();
  }

  // Per room: its host on one node (the next after the room's index), and guests arriving one after another on every node.
  const clients = rooms.flatMap((room, i) => [
    moderate(nodes[(i + 1) % nodes.length]!, room),
    ...nodes.map(async (node) => {
      while (running) await arrive(node, room);
    }),
  ]);
  return {
    history,
    visit(node, room, guest, options) {
      const visiting = visit(node, room, guest, options?.stay);
      clients.push(visiting);
      return visiting;
    },
    async stop() {
      running = false;
      await Promise.all(clients);
    },
    inFlight: () => [...waiting].map(({ what, startedAt }) => `${what} for ${Date.now() - startedAt} ms`),
  };
}
