import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, createRoom, guest, join, pool, registerHost, type Session } from '../lib/api';
import { startCluster } from '../lib/processes';
import type { Row } from '../lib/report';
import { deletePrefix } from '../lib/services';
import { median } from '../lib/stats';
import type { BenchContext } from './context';

/**
 * (f) Webhooks: what delivering lifecycle events costs a node's throughput. Two nodes (cluster
 * mode, one database): one with WEBHOOK_URL pointing at a receiver in this process that answers
 * 200, the other with webhooks off (the baseline). Guests join one open room over REST, 16 in
 * flight; each join writes one event (`participant.joined`) in its transaction, which the
 * dispatcher then posts. Bursts alternate between the two nodes (off, on, off, …), so a change
 * in the machine's load falls on both; each side's figure is the median of its bursts. With
 * webhooks on, the burst ends when its last event has been received, so delivery is inside it.
 * Delivery keeps up when the receiver hears the burst's events as fast as its joins made them:
 * events over the time from the first event received to the last, against joins over the time
 * from the first join sent to the last answered. How long after the last join its event came
 * (delivery's latency, about 0.1 s) is printed beside it.
 */
interface Side {
  name: string;
  base: string;
  host: Session;
  /** Joins per second of each burst. */
  joinsPerSecond: number[];
  /** Events delivered per second in each burst (webhooks on), from its first event received to its last. */
  deliveredPerSecond: number[];
  /** Milliseconds from each burst's last join answered to its last event received (webhooks on). */
  lagMs: number[];
}

/** The receiver's count of events so far, and when (performance.now()) each arrived. */
type Received = { count: () => number; at: (index: number) => number };

async function startReceiver(): Promise<{ url: string; received: Received; close: () => Promise<void> }> {
  const times: number[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      times.push(performance.now());
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received: { count: () => times.length, at: (index) => times[index]! },
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

async function openRoom(side: Side): Promise<string> {
  const code = await createRoom(side.base, side.host, { max_participants: 1000 });
  await join(side.base, code, side.host);
  return code;
}

/** Waits until the receiver has heard nothing new for `ms` (at most a minute). */
async function quiet(received: Received, ms: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (let heard = -1; received.count() !== heard && Date.now() < deadline;) {
    heard = received.count();
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** One burst of `count` joins, 16 in flight, into a new room; with `received`, until every event has arrived. A warm-up burst is not recorded. */
async function burst(side: Side, count: number, received?: Received, warmUp = false): Promise<void> {
  const code = await openRoom(side);
  const guests = await pool(count, 8, (i) => guest(side.base, `Guest ${i}`));
  // The room's own events (created, started, the host's join) are not the burst's.
  if (received) await quiet(received, 200);
  const before = received?.count() ?? 0;
  const startedAt = performance.now();
  await pool(count, 16, (i) => join(side.base, code, guests[i]!));
  const joinedAt = performance.now();
  if (!warmUp) side.joinsPerSecond.push(count / ((joinedAt - startedAt) / 1000));
  if (received) {
    const deadline = Date.now() + 60_000;
    while (received.count() - before < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    if (received.count() - before < count) throw new Error(`(f) ${received.count() - before} of ${count} events delivered in 60 s`);
    const [first, last] = [received.at(before), received.at(before + count - 1)];
    if (!warmUp) side.deliveredPerSecond.push(count / ((last - first) / 1000));
    if (!warmUp) side.lagMs.push(last - joinedAt);
  }
  // The burst's events must not be delivered during the other side's next burst: nor must the
  // events of ending its room (one `participant.left` per guest, then `room.ended`), so the
  // receiver must have heard nothing new for half a second before the next burst starts.
  await call(side.base, 'POST', `/meetings/${code}/end`, side.host.token);
  if (received) await quiet(received, 500);
}

export async function webhooks(context: BenchContext): Promise<Row[]> {
  const bursts = context.quick ? 1 : 4;
  const joins = context.quick ? 150 : 600;
  const receiver = await startReceiver();
  const off = await startCluster(1, { RECONNECT_GRACE_S: '3600' });
  const on = await startCluster(1, { RECONNECT_GRACE_S: '3600', WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: randomBytes(32).toString('base64url') });
  try {
    context.log(`(f) webhooks: one node with webhooks on, one off, ${bursts} bursts of ${joins} joins each, alternating`);
    const side = async (name: string, base: string): Promise<Side> => ({
      name,
      base,
      host: await registerHost(base),
      joinsPerSecond: [],
      deliveredPerSecond: [],
      lagMs: [],
    });
    const sides = { off: await side('off', off.nodes[0]!.url), on: await side('on', on.nodes[0]!.url) };
    await burst(sides.off, 50, undefined, true); // warm-up: JIT and pools
    await burst(sides.on, 50, receiver.received, true);
    for (let b = 0; b < bursts; b++) {
      await burst(sides.off, joins);
      await burst(sides.on, joins, receiver.received);
    }
    const joinsOn = median(sides.on.joinsPerSecond);
    const deliveredOn = median(sides.on.deliveredPerSecond);
    const list = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');
    const detail = `joins/s by burst: on ${list(sides.on.joinsPerSecond)}, off ${list(sides.off.joinsPerSecond)}; delivered/s ${list(sides.on.deliveredPerSecond)}; last event ${list(sides.on.lagMs)} ms after the last join`;
    context.log(`(f) ${detail}`);
    return [
      {
        id: 'f.rate',
        benchmark: '(f) REST joins/s with webhooks on (16 in flight)',
        unit: 'joins/s',
        better: 'higher',
        figure: joinsOn,
        baseline: median(sides.off.joinsPerSecond),
        baselineName: 'the same joins, webhooks off',
        target: { ratio: 0.8 },
        detail: `median of ${bursts} bursts of ${joins} joins on each node, alternating; ${detail}`,
      },
      {
        // Delivery keeps up: the burst's events reach the receiver about as fast as its joins made them.
        id: 'f.delivered',
        benchmark: '(f) webhook events delivered/s during those bursts',
        unit: 'events/s',
        better: 'higher',
        figure: deliveredOn,
        baseline: joinsOn,
        baselineName: "those bursts' joins/s, one event each",
        target: { ratio: 0.95 },
        detail: `events over the time from a burst's first event received to its last, one per join; the last event came a median ${median(sides.on.lagMs).toFixed(0)} ms after the burst's last join`,
      },
    ];
  } finally {
    await Promise.all([off.close(), on.close()]);
    await Promise.all([deletePrefix(off.prefix), deletePrefix(on.prefix)]);
    await receiver.close();
  }
}
