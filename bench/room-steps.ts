import { admitWaiting, rejectWaiting } from '../src/rooms/lobby.steps';
import { expireGrace } from '../src/rooms/presence.steps';
import type { RoomContext } from '../src/rooms/room.types';

/**
 * `npx tsx bench/room-steps.ts [--users=1000]`: the room's pure steps that act on everyone at
 * once, timed alone in this process (no I/O; while one runs, the node serves nobody): admit-all
 * of a full lobby, reject-all of it, and the reconnect grace of every participant running out
 * together (as when a room's new owner loads it after its sockets' node died). Each is run on
 * a fresh room 5 times; the first and the median are printed (the first runs before the JIT
 * has compiled the step, as a rare bulk action does).
 */
const users = Number(process.argv.find((arg) => arg.startsWith('--users='))?.split('=')[1] ?? 1000);
const hostId = 'host';
const userId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** A room with `users` people waiting (`inLobby`) or seated and gone, each with a reconnect deadline at 100. */
function room(inLobby: boolean): RoomContext {
  const context = {
    hostId,
    participants: {
      [hostId]: { userId: hostId, displayName: 'Host', role: 'host', status: 'connected', language: null, hardwareReady: false, joinedAt: 0, media: null },
    },
    lobby: {},
    presence: { [hostId]: { sockets: ['n1#host'], graceUntil: null } },
    speaking: {},
    activeSpeaker: null,
    removed: [],
    knockCooldowns: {},
    settings: { lock_room: true, enable_transcription: false, max_participants: users },
    timings: { reconnectGraceMs: 30_000, lobbyRejectCooldownMs: 0 },
  } as unknown as RoomContext;
  for (let i = 0; i < users; i++) {
    const id = userId(i);
    if (inLobby) context.lobby[id] = { userId: id, displayName: `Guest ${i}`, language: null, hardwareReady: false, since: i, invited: false };
    else
      context.participants[id] = {
        userId: id,
        displayName: `Guest ${i}`,
        role: 'guest',
        status: 'disconnected',
        language: null,
        hardwareReady: false,
        joinedAt: 0,
        media: null,
      };
    context.presence[id] = { sockets: [], graceUntil: 100 };
  }
  return context;
}

const steps = {
  'admit-all of a full lobby': { run: admitWaiting(50), inLobby: true },
  'reject-all of a full lobby': { run: rejectWaiting(50), inLobby: true },
  "every participant's grace running out together": { run: expireGrace(200), inLobby: false },
};

for (const [name, { run, inLobby }] of Object.entries(steps)) {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const context = room(inLobby);
    const startedAt = performance.now();
    run(context);
    times.push(performance.now() - startedAt);
  }
  const median = [...times].sort((x, y) => x - y)[2]!;
  console.log(`${name}, ${users} users: first ${times[0]!.toFixed(1)} ms, median of 5 ${median.toFixed(1)} ms`);
}
