import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import { createRoom, guest, join, registerHost } from '../lib/api';
import { attachedSocket, nextEvent } from '../lib/client';
import { onBaselinePair, startCluster, type ServerNode } from '../lib/processes';
import type { Row } from '../lib/report';
import { deletePrefix } from '../lib/services';
import { Latencies } from '../lib/stats';
import type { BenchContext } from './context';

/**
 * (h) the signaling hop of a call (docs/calls.md): a participant's socket on node A sends an
 * offer-sized `rtc:signal`; the other participant's socket on node B receives it; the room runs
 * on node C, which checks both ends and hands it on. Baseline: the same payload relayed from a
 * client on one bare Socket.IO node to a client on another (Redis adapter), as in (c).
 */
const sdp = `v=0\r\n${'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n'.repeat(64)}`; // about 4 kB, a two-track offer

async function hops(sender: Socket, receiver: Socket, send: () => void, trials: number, warmUp: number): Promise<Latencies> {
  const latencies = new Latencies();
  for (let i = 0; i < warmUp + trials; i++) {
    const heard = nextEvent(receiver, 'rtc:signal');
    const sentAt = performance.now();
    send();
    const took = (await heard) - sentAt;
    if (i >= warmUp) latencies.add(took);
    // Under the 50 signals a second a socket may send.
    await sleep(25);
  }
  sender.close();
  receiver.close();
  return latencies;
}

export async function signaling(context: BenchContext): Promise<Row[]> {
  const trials = context.quick ? 60 : 1000;
  const warmUp = 20;
  context.log(`(h) signaling hop: ours (3 nodes), ${trials} offers`);
  const cluster = await startCluster(3);
  let ours: Latencies;
  try {
    const [a, b, c] = cluster.nodes as [ServerNode, ServerNode, ServerNode];
    const host = await registerHost(c.url);
    const code = await createRoom(c.url, host);
    await join(c.url, code, host);
    const ann = await guest(c.url, 'Ann');
    const bob = await guest(c.url, 'Bob');
    await join(c.url, code, ann);
    await join(c.url, code, bob);
    const sender = await attachedSocket(a.url, code, ann.token);
    const receiver = await attachedSocket(b.url, code, bob.token);
    ours = await hops(
      sender,
      receiver,
      () => sender.emit('rtc:signal', { room_code: code, to: bob.userId, description: { type: 'offer', sdp } }, () => {}),
      trials,
      warmUp,
    );
    context.log(`(h) ours: ${ours.describe()}`);
  } finally {
    await cluster.close();
    await deletePrefix(cluster.prefix);
  }

  context.log('(h) baseline: 2 bare Socket.IO nodes, Redis adapter');
  const plain = await onBaselinePair(async (one, two) => {
    const code = `room-${randomUUID()}`;
    const sender = await attachedSocket(one, code);
    const receiver = await attachedSocket(two, code);
    const payload = { room_code: code, from: randomUUID(), description: { type: 'offer', sdp } };
    return hops(sender, receiver, () => sender.emit('relay', { room_code: code, event: 'rtc:signal', payload }), trials, warmUp);
  });
  context.log(`(h) baseline: ${plain.describe()}`);

  const name = '(h) rtc:signal on A → the peer on B, room on C';
  return [
    {
      id: 'h.p50',
      benchmark: `${name}, p50`,
      unit: 'ms',
      better: 'lower',
      figure: ours.at(50),
      baseline: plain.at(50),
      baselineName: 'plain cross-node emit',
      target: { ratio: 2.5 },
      detail: `4 kB offers, one at a time; ${ours.describe()}; baseline ${plain.describe()}`,
    },
    {
      id: 'h.p99',
      benchmark: `${name}, p99`,
      unit: 'ms',
      better: 'lower',
      figure: ours.at(99),
      baseline: plain.at(99),
      baselineName: 'plain cross-node emit',
      target: { figure: 20 },
    },
  ];
}
