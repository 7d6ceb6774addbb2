import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import { call, createRoom, guest, join, pool, registerHost, type Session } from '../lib/api';
import { attachedSocket, nextEvent } from '../lib/client';
import { onBaselinePair, startCluster, type ServerNode } from '../lib/processes';
import type { Row } from '../lib/report';
import { deletePrefix } from '../lib/services';
import { Latencies } from '../lib/stats';
import type { BenchContext } from './context';

/**
 * (b2) speaker latency and (c) admit latency across nodes, with every client in this process so
 * both ends of a sample share one clock. Ours: three nodes in cluster mode. Baseline: two bare
 * Socket.IO nodes on @socket.io/redis-adapter, where one client emits and the server broadcasts a
 * payload of the same size to a channel that a client on the other node listens to.
 */
const minMs = 300; // ACTIVE_SPEAKER_MIN_MS, the server default
const loudDb = -20;
const quietDb = -60;
const sampleEveryMs = 50;
const concurrentRooms = 4;

/** Room r's share of the trials. */
const share = (trials: number, r: number) => Math.floor(trials / concurrentRooms) + (r < trials % concurrentRooms ? 1 : 0);

/** Speakers S1 and S2 take turns in each room; the host listens on another node. */
async function speakerLatency(nodes: { rest: ServerNode; speakers: ServerNode; listener: ServerNode }, host: Session, trials: number): Promise<Latencies> {
  const latencies = new Latencies();
  await pool(concurrentRooms, concurrentRooms, async (r) => {
    const code = await createRoom(nodes.rest.url, host);
    await join(nodes.rest.url, code, host);
    const speakers = await Promise.all(
      [1, 2].map(async (n) => {
        const who = await guest(nodes.rest.url, `Speaker ${n}`);
        await join(nodes.rest.url, code, who);
        return { who, socket: await attachedSocket(nodes.speakers.url, code, who.token) };
      }),
    );
    const listener = await attachedSocket(nodes.listener.url, code, host.token);
    const mine = share(trials, r);
    for (let trial = 0; trial < mine; trial++) {
      const { who, socket } = speakers[trial % 2]!;
      const heard = nextEvent<{ user_id: string | null }>(listener, 'speaker:changed', (p) => p.user_id === who.userId);
      const firstAt = performance.now();
      const send = () => socket.emit('audio:level', { room_code: code, level: loudDb });
      send();
      const timer = setInterval(send, sampleEveryMs);
      try {
        latencies.add((await heard) - firstAt - minMs);
      } finally {
        clearInterval(timer);
      }
      socket.emit('audio:level', { room_code: code, level: quietDb });
      await sleep(100);
    }
    for (const socket of [listener, ...speakers.map((s) => s.socket)]) socket.close();
  });
  return latencies;
}

/**
 * Guests wait in a locked room owned by `owner`, their sockets on `guestNode`; the host admits them
 * over REST on `restNode`. The first `warmUp` admits (spread over the rooms) are not recorded, as
 * the baseline's warm-up emits are not, and every socket closes only after all rooms are done, so
 * one room's 100 disconnects do not land in another room's samples.
 */
async function admitLatency(
  nodes: { owner: ServerNode; guests: ServerNode; rest: ServerNode },
  host: Session,
  trials: number,
  warmUp: number,
): Promise<Latencies> {
  const latencies = new Latencies();
  const sockets: Socket[] = [];
  try {
    await pool(concurrentRooms, concurrentRooms, async (r) => {
      const code = await createRoom(nodes.owner.url, host, { lock_room: true, max_participants: 1000 });
      await join(nodes.owner.url, code, host);
      const warm = share(warmUp, r);
      const count = warm + share(trials, r);
      const waiting: { who: Session; socket: Socket }[] = [];
      for (let i = 0; i < count; i++) {
        const who = await guest(nodes.owner.url, `Guest ${i}`);
        const joined = await join(nodes.owner.url, code, who);
        if (joined.status !== 'waiting') throw new Error(`expected to wait, got ${joined.status}`);
        const socket = await attachedSocket(nodes.guests.url, code, who.token);
        sockets.push(socket);
        waiting.push({ who, socket });
      }
      for (const [i, { who, socket }] of waiting.entries()) {
        const admitted = nextEvent(socket, 'lobby:admitted');
        const sentAt = performance.now();
        await call(nodes.rest.url, 'POST', `/meetings/${code}/admit/${who.userId}`, host.token);
        const took = (await admitted) - sentAt;
        if (i >= warm) latencies.add(took);
        await sleep(20);
      }
    });
  } finally {
    for (const socket of sockets) socket.close();
  }
  return latencies;
}

/** Plain cross-node emits: a client on one baseline node relays `payload`; a client on the other hears it. */
async function crossNodeEmit(from: string, to: string, event: string, payload: (code: string) => object, trials: number): Promise<Latencies> {
  const latencies = new Latencies();
  await pool(concurrentRooms, concurrentRooms, async (r) => {
    const code = `room-${randomUUID()}`;
    const sender = await attachedSocket(from, code);
    const receiver = await attachedSocket(to, code);
    const count = share(trials, r);
    for (let i = 0; i < count; i++) {
      const heard = nextEvent(receiver, event);
      const sentAt = performance.now();
      sender.emit('relay', { room_code: code, event, payload: payload(code) });
      latencies.add((await heard) - sentAt);
      await sleep(20);
    }
    sender.close();
    receiver.close();
  });
  return latencies;
}

export async function latency(context: BenchContext): Promise<Row[]> {
  const trials = context.quick ? 40 : 400;
  const warmUp = 20; // as many as the baseline's warm-up emits
  context.log(`(b2, c) latency: ours (3 nodes), ${trials} trials each`);
  const cluster = await startCluster(3);
  let speakerLocal: Latencies, speakerThird: Latencies, admit: Latencies;
  try {
    const [a, b, c] = cluster.nodes as [ServerNode, ServerNode, ServerNode];
    const host = await registerHost(a.url);
    speakerLocal = await speakerLatency({ rest: a, speakers: a, listener: b }, host, trials);
    context.log(`(b2) ours, speaker on the room's node: ${speakerLocal.describe()}`);
    speakerThird = await speakerLatency({ rest: c, speakers: a, listener: b }, host, trials);
    context.log(`(b2) ours, room on a third node: ${speakerThird.describe()}`);
    admit = await admitLatency({ owner: c, guests: b, rest: a }, host, trials, warmUp);
    context.log(`(c) ours: ${admit.describe()}`);
  } finally {
    await cluster.close();
    await deletePrefix(cluster.prefix);
  }

  context.log('(b2, c) latency: baseline (2 bare Socket.IO nodes, Redis adapter)');
  const speakerPayload = (code: string) => ({ room_code: code, user_id: randomUUID(), at: new Date().toISOString() });
  const [plainSpeaker, plainAdmit] = await onBaselinePair(async (one, two) => {
    await crossNodeEmit(one, two, 'speaker:changed', speakerPayload, warmUp);
    return [
      await crossNodeEmit(one, two, 'speaker:changed', speakerPayload, trials),
      await crossNodeEmit(one, two, 'lobby:admitted', (code) => ({ room_code: code }), trials),
    ] as const;
  });
  context.log(`(b2, c) baseline: speaker-sized ${plainSpeaker.describe()}; admit-sized ${plainAdmit.describe()}`);

  const speakerRows = (id: string, name: string, ours: Latencies, detail: string): Row[] => [
    {
      id: `${id}.p50`,
      benchmark: `${name} p50`,
      unit: 'ms',
      better: 'lower',
      figure: ours.at(50),
      baseline: plainSpeaker.at(50),
      baselineName: 'plain cross-node emit',
      target: { figure: 5 },
      detail,
    },
    {
      id: `${id}.p99`,
      benchmark: `${name} p99`,
      unit: 'ms',
      better: 'lower',
      figure: ours.at(99),
      baseline: plainSpeaker.at(99),
      baselineName: 'plain cross-node emit',
      target: { figure: 20, ratio: 2 },
    },
  ];
  return [
    ...speakerRows(
      'b2',
      '(b2) speaker:changed − (first loud + 300 ms)',
      speakerLocal,
      `speaker's socket on the room's node, listener on another; ${speakerLocal.describe()}; baseline ${plainSpeaker.describe()}`,
    ),
    ...speakerRows('b2.third', '(b2) same, room on a third node', speakerThird, `speaker on node A, room on C, listener on B; ${speakerThird.describe()}`),
    {
      id: 'c.p50',
      benchmark: '(c) admit on A → lobby:admitted on B, room on C, p50',
      unit: 'ms',
      better: 'lower',
      figure: admit.at(50),
      baseline: plainAdmit.at(50),
      baselineName: 'plain cross-node emit',
      target: { ratio: 2 },
      detail: `${admit.describe()}; baseline ${plainAdmit.describe()}`,
    },
    {
      id: 'c.p99',
      benchmark: '(c) admit on A → lobby:admitted on B, room on C, p99',
      unit: 'ms',
      better: 'lower',
      figure: admit.at(99),
      baseline: plainAdmit.at(99),
      baselineName: 'plain cross-node emit',
      target: { ratio: 2.5 },
    },
  ];
}
