import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import { call, createRoom, guest, join, pool, registerHost, type Session } from '../lib/api';
import { attachedSocket, connectedSocket, nextEvent } from '../lib/client';
import { onOwnerPathPair, startCluster, type Forked, type ServerNode } from '../lib/processes';
import type { Row } from '../lib/report';
import { deletePrefix } from '../lib/services';
import { Latencies } from '../lib/stats';
import type { BenchContext } from './context';

/**
 * (b2) speaker latency and (c) admit latency across nodes, with every client in this process so
 * both ends of a sample share one clock. Ours: three nodes in cluster mode.
 *
 * (b2) is `speaker:changed` at the listener minus (the first loud sample sent + 300 ms). The hold
 * runs on the server's clock from that sample's arrival (a timer, speaking-detectors.ts), so the
 * client's later samples and their setInterval drift do not enter the figure; measuring from the
 * first sample sent at or after +300 ms would not fit this. What does enter it on both sides is
 * the first sample's trip to the node and the hold timer's lateness (whole milliseconds on the
 * event loop's clock). Baseline: the same clients and measurement against an owner-path baseline
 * node (bench/baselines/owner-path.ts) that owns the room and holds the speakers' sockets: a
 * plain 300 ms timer armed by a socket's first loud sample (the least a hold can be), then our
 * fenced live-state write of a speaker change, then `speaker:changed` through
 * @socket.io/redis-adapter to a listener on the other baseline node.
 *
 * (c) is from sending the host's admit (REST on node A, room owned by C, guest on B) to
 * `lobby:admitted` at the guest. Baseline: the same request to the owner-path node, which runs
 * the admit's PostgreSQL transaction and fenced live-state write, then tells the room as ours
 * does: `lobby:admitted` to the guest's channel (heard by the guest on the other node), the
 * guest's sockets into the room's channel, `participant:joined` to the guests admitted before
 * (on the other node, as ours are on B); and then answers. Its guests wait connected, not in the
 * room's channel, as a waiting user's sockets are not in ours.
 *
 * Both sides' servers run throughout, each idle while the other is measured: ours' (b2), the
 * baseline's (b2), then (c) with both sides' rooms waiting at once and the admits taking turns,
 * 20 a room from one side, then 20 from the other, so that a slower minute of the shared cores
 * falls on both.
 */
const minMs = 300; // ACTIVE_SPEAKER_MIN_MS, the server default
const loudDb = -20;
const quietDb = -60;
const sampleEveryMs = 50;
const concurrentRooms = 4;
/** (c): each side admits this many guests a room, then the other side its next as many. */
const admitsPerTurn = 20;

/** Room r's share of the trials. */
const share = (trials: number, r: number) => Math.floor(trials / concurrentRooms) + (r < trials % concurrentRooms ? 1 : 0);

/**
 * In one room, two speakers take turns: each sends loud samples every 50 ms until the listener
 * hears it named by `speaker:changed`, then one quiet sample, then a 100 ms pause. Records heard
 * minus (first loud sample sent + 300 ms) for the turns after the first `warm`.
 */
async function speakerTurns(
  code: string,
  speakers: { userId: string; socket: Socket }[],
  listener: Socket,
  turns: number,
  warm: number,
  latencies: Latencies,
): Promise<void> {
  for (let turn = 0; turn < warm + turns; turn++) {
    const { userId, socket } = speakers[turn % speakers.length]!;
    const heard = nextEvent<{ user_id: string | null }>(listener, 'speaker:changed', (p) => p.user_id === userId);
    const firstAt = performance.now();
    const send = () => socket.emit('audio:level', { room_code: code, level: loudDb });
    send();
    const timer = setInterval(send, sampleEveryMs);
    try {
      const took = (await heard) - firstAt - minMs;
      if (turn >= warm) latencies.add(took);
    } finally {
      clearInterval(timer);
    }
    socket.emit('audio:level', { room_code: code, level: quietDb });
    await sleep(100);
  }
}

/**
 * Ours: speakers S1 and S2 take turns in each room, their sockets on `speakers`; the host listens
 * on `listener`. The first `warmUp` turns (spread over the rooms) are not recorded, as the
 * baseline's are not.
 */
async function speakerLatency(
  nodes: { rest: ServerNode; speakers: ServerNode; listener: ServerNode },
  host: Session,
  trials: number,
  warmUp: number,
): Promise<Latencies> {
  const latencies = new Latencies();
  await pool(concurrentRooms, concurrentRooms, async (r) => {
    const code = await createRoom(nodes.rest.url, host);
    await join(nodes.rest.url, code, host);
    const speakers = await Promise.all(
      [1, 2].map(async (n) => {
        const who = await guest(nodes.rest.url, `Speaker ${n}`);
        await join(nodes.rest.url, code, who);
        return { userId: who.userId, socket: await attachedSocket(nodes.speakers.url, code, who.token) };
      }),
    );
    const listener = await attachedSocket(nodes.listener.url, code, host.token);
    await speakerTurns(code, speakers, listener, share(trials, r), share(warmUp, r), latencies);
    for (const socket of [listener, ...speakers.map((s) => s.socket)]) socket.close();
  });
  return latencies;
}

/** Guests waiting in one room, each with how the host admits them; the first `warm` admits are not recorded. */
interface Lobby {
  waiting: { socket: Socket; admit: () => Promise<unknown> }[];
  warm: number;
  /** The next guest to admit. */
  next: number;
}

/**
 * The next `count` admits of every room, the rooms at once, each room's 20 ms apart: from sending
 * `admit` to `lobby:admitted` at the guest's socket.
 */
async function admitBlock(lobbies: Lobby[], count: number, latencies: Latencies): Promise<void> {
  await Promise.all(
    lobbies.map(async (lobby) => {
      for (const end = Math.min(lobby.waiting.length, lobby.next + count); lobby.next < end; lobby.next++) {
        const { socket, admit } = lobby.waiting[lobby.next]!;
        const admitted = nextEvent(socket, 'lobby:admitted');
        const sentAt = performance.now();
        await admit();
        const took = (await admitted) - sentAt;
        if (lobby.next >= lobby.warm) latencies.add(took);
        await sleep(20);
      }
    }),
  );
}

/**
 * Both sides' admits in turns, a block of each room's at a time with a pause between, so that a
 * slower minute of the shared cores falls on both (as (b1) alternates its windows).
 */
async function admitInTurns(sides: [Lobby[], Lobby[]]): Promise<[Latencies, Latencies]> {
  const latencies: [Latencies, Latencies] = [new Latencies(), new Latencies()];
  const waiting = (lobbies: Lobby[]) => lobbies.some((lobby) => lobby.next < lobby.waiting.length);
  while (sides.some(waiting)) {
    for (const [i, lobbies] of sides.entries()) {
      await admitBlock(lobbies, admitsPerTurn, latencies[i]!);
      await sleep(500); // what the block left behind (replies, other nodes' notices) settles first
    }
  }
  return latencies;
}

/**
 * Ours: guests wait in locked rooms owned by `owner`, their sockets on `guests`; the host admits
 * them over REST on `rest`. Every socket goes into `sockets`, closed once both sides are done, so
 * one room's 100 disconnects do not land in another's samples.
 */
function ourLobbies(nodes: { owner: ServerNode; guests: ServerNode; rest: ServerNode }, host: Session, trials: number, warmUp: number, sockets: Socket[]) {
  return pool(concurrentRooms, concurrentRooms, async (r): Promise<Lobby> => {
    const code = await createRoom(nodes.owner.url, host, { lock_room: true, max_participants: 1000 });
    await join(nodes.owner.url, code, host);
    const warm = share(warmUp, r);
    const waiting: Lobby['waiting'] = [];
    for (let i = 0; i < warm + share(trials, r); i++) {
      const who = await guest(nodes.owner.url, `Guest ${i}`);
      const joined = await join(nodes.owner.url, code, who);
      if (joined.status !== 'waiting') throw new Error(`expected to wait, got ${joined.status}`);
      const socket = await attachedSocket(nodes.guests.url, code, who.token);
      sockets.push(socket);
      waiting.push({ socket, admit: () => call(nodes.rest.url, 'POST', `/meetings/${code}/admit/${who.userId}`, host.token) });
    }
    return { waiting, warm, next: 0 };
  });
}

/**
 * Baseline (b2): the same turns in rooms owned by `owner`, the speakers' sockets on `owner` (which
 * times the hold with a plain timer, then makes the fenced write and emits), the listener on `other`.
 */
async function fencedSpeakerChange(owner: Forked, other: Forked, trials: number, warmUp: number): Promise<Latencies> {
  const latencies = new Latencies();
  await pool(concurrentRooms, concurrentRooms, async (r) => {
    const code = await owner.call<string>('speakerRoom');
    const speakers = await Promise.all(
      [randomUUID(), randomUUID()].map(async (userId) => ({ userId, socket: await attachedSocket(owner.hello.url as string, code, userId) })),
    );
    const listener = await attachedSocket(other.hello.url as string, code);
    await speakerTurns(code, speakers, listener, share(trials, r), share(warmUp, r), latencies);
    for (const socket of [listener, ...speakers.map((s) => s.socket)]) socket.close();
  });
  return latencies;
}

/**
 * Baseline (c): guests of a running room owned by `owner` wait in its lobby (PostgreSQL rows and
 * live state set up by the node), their sockets on `other`; each is admitted over HTTP on `owner`.
 */
function baselineLobbies(owner: Forked, other: Forked, trials: number, warmUp: number, sockets: Socket[]) {
  const url = owner.hello.url as string;
  return pool(concurrentRooms, concurrentRooms, async (r): Promise<Lobby> => {
    const warm = share(warmUp, r);
    const { roomCode, guestIds } = await owner.call<{ roomCode: string; guestIds: string[] }>('lobbyRoom', { guests: warm + share(trials, r) });
    const waiting: Lobby['waiting'] = [];
    for (const userId of guestIds) {
      const socket = await connectedSocket(other.hello.url as string, userId);
      sockets.push(socket);
      waiting.push({ socket, admit: () => call(url, 'POST', `/meetings/${roomCode}/admit/${userId}`) });
    }
    return { waiting, warm, next: 0 };
  });
}

export async function latency(context: BenchContext): Promise<Row[]> {
  const trials = context.quick ? 24 : 400;
  const warmUp = 20; // per measurement, ours and the baseline's, not recorded
  context.log(`(b2, c) latency: ours (3 nodes) and the baseline (2 owner-path nodes), both running throughout, ${trials} trials each`);
  const cluster = await startCluster(3);
  let measured;
  try {
    const [a, b, c] = cluster.nodes as [ServerNode, ServerNode, ServerNode];
    const host = await registerHost(a.url);
    measured = await onOwnerPathPair(async (owner, other) => {
      const speakerLocal = await speakerLatency({ rest: a, speakers: a, listener: b }, host, trials, warmUp);
      context.log(`(b2) ours, speaker on the room's node: ${speakerLocal.describe()}`);
      const speakerThird = await speakerLatency({ rest: c, speakers: a, listener: b }, host, trials, warmUp);
      context.log(`(b2) ours, room on a third node: ${speakerThird.describe()}`);
      const plainSpeaker = await fencedSpeakerChange(owner, other, trials, warmUp);
      context.log(`(b2) baseline: ${plainSpeaker.describe()}`);
      context.log(`(c) ours and the baseline in turns, ${admitsPerTurn} admits a room each`);
      const sockets: Socket[] = [];
      try {
        const ours = await ourLobbies({ owner: c, guests: b, rest: a }, host, trials, warmUp, sockets);
        const [admit, plainAdmit] = await admitInTurns([ours, await baselineLobbies(owner, other, trials, warmUp, sockets)]);
        context.log(`(c) ours: ${admit.describe()}; baseline: ${plainAdmit.describe()}`);
        return { speakerLocal, speakerThird, plainSpeaker, admit, plainAdmit };
      } finally {
        for (const socket of sockets) socket.close();
      }
    });
  } finally {
    await cluster.close();
    await deletePrefix(cluster.prefix);
  }
  const { speakerLocal, speakerThird, plainSpeaker, admit, plainAdmit } = measured;

  const speakerName = '300 ms timer + fenced write + cross-node emit';
  const admitName = 'HTTP + same PG tx + fenced write + the same emits across nodes';
  const rows = (id: string, name: string, ours: Latencies, baseline: Latencies, baselineName: string, detail: string): Row[] => [
    {
      id: `${id}.p50`,
      benchmark: `${name} p50`,
      unit: 'ms',
      better: 'lower',
      figure: ours.at(50),
      baseline: baseline.at(50),
      baselineName,
      target: { ratio: 1.5 },
      detail,
    },
    {
      id: `${id}.p99`,
      benchmark: `${name} p99`,
      unit: 'ms',
      better: 'lower',
      figure: ours.at(99),
      baseline: baseline.at(99),
      baselineName,
      target: { ratio: 2 },
    },
  ];
  return [
    ...rows(
      'b2',
      '(b2) speaker:changed − (first loud + 300 ms)',
      speakerLocal,
      plainSpeaker,
      speakerName,
      `speaker's socket on the room's node, listener on another: ${speakerLocal.describe()}; baseline (speakers on the owning node: our detector's 300 ms hold, fenced SET active_speaker, emit to a listener on the other node): ${plainSpeaker.describe()}`,
    ),
    ...rows(
      'b2.third',
      '(b2) same, room on a third node',
      speakerThird,
      plainSpeaker,
      speakerName,
      `speaker on node A, room on C, listener on B: ${speakerThird.describe()}; baseline as for (b2): ${plainSpeaker.describe()}`,
    ),
    ...rows(
      'c',
      '(c) admit on A → lobby:admitted on B, room on C,',
      admit,
      plainAdmit,
      admitName,
      `ours: ${admit.describe()}; baseline (POST on the owning node: the admit's PG transaction, fenced HSET/SREM/HDEL, lobby:admitted to the guest, the guest into the room's channel and participant:joined to the guests admitted before, all on the other node, then the answer): ${plainAdmit.describe()}`,
    ),
  ];
}
