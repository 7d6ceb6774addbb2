/**
 * `npx tsx bench/capacity-model.ts`: the arithmetic behind docs/capacity.md. It runs nothing: it
 * multiplies the per-operation costs measured on this machine (bench/op-costs.ts,
 * bench/redis-fanout.ts, `npm run bench` rows (b1), (d), (k)) by the rates an assumed workload
 * makes, for 10 000, 100 000 and 1 000 000 concurrent participants, and prints the tables of
 * the page. Every input is below with where it comes from; change one and run it again.
 */

/** Per operation, through two nodes (every room command forwarded to the room's node), as the cluster sees it. */
interface Cost {
  /** Node CPU, all nodes together (µs). */
  nodeUs: number;
  /** Redis commands, script-internal ones included, and Redis CPU (µs, measured with Redis mostly idle). */
  redisCommands: number;
  redisUs: number;
  /** Adapter publishes: to every node with the pub/sub adapter. */
  adapter: number;
  /** Of those, the ones the sharded adapter (`dynamic`) still sends to every node: membership changes, several channels at once, one socket. */
  everyNode: number;
  /** Publishes to one node's inbox (a forward or its reply): one delivery each. */
  forwards: number;
  sqlTx: number;
  /** PostgreSQL backend CPU (µs). */
  pgUs: number;
}

/**
 * bench/op-costs.ts --nodes=2 on 2026-12-06, after the change to fewer Redis commands per
 * operation (commit e577ff0). Redis commands and publishes from the run on the current code
 * (counts do not move between runs); Redis CPU (idle Redis) from that run too. Node and
 * PostgreSQL CPU: the middle of the range of that run and the earlier ones on the older code
 * (they moved by up to 1.5 × between runs, with other work on the machine). Adapter publishes
 * from the one-node runs (where nothing is forwarded); forwards are the rest of the publishes.
 */
const measuredCosts = {
  guestSignIn: { nodeUs: 4500, redisCommands: 0, redisUs: 0, adapter: 0, everyNode: 0, forwards: 0, sqlTx: 1, pgUs: 850 },
  createRoom: { nodeUs: 3250, redisCommands: 10, redisUs: 225, adapter: 0, everyNode: 0, forwards: 0, sqlTx: 1, pgUs: 1000 },
  firstJoinLoads: { nodeUs: 6300, redisCommands: 37, redisUs: 540, adapter: 2, everyNode: 0, forwards: 0, sqlTx: 2, pgUs: 4350 },
  createAndJoin: { nodeUs: 9000, redisCommands: 26, redisUs: 900, adapter: 2, everyNode: 0, forwards: 2, sqlTx: 2, pgUs: 2450 },
  guestJoin: { nodeUs: 4150, redisCommands: 12.2, redisUs: 320, adapter: 1, everyNode: 0, forwards: 2, sqlTx: 2, pgUs: 1250 },
  attach: { nodeUs: 3950, redisCommands: 14, redisUs: 260, adapter: 2, everyNode: 1, forwards: 2, sqlTx: 1, pgUs: 330 },
  detach: { nodeUs: 1400, redisCommands: 14.3, redisUs: 130, adapter: 2, everyNode: 1, forwards: 2, sqlTx: 0, pgUs: 0 },
  leave: { nodeUs: 3450, redisCommands: 10, redisUs: 295, adapter: 1, everyNode: 0, forwards: 2, sqlTx: 2, pgUs: 1300 },
  endRoom: { nodeUs: 3250, redisCommands: 17, redisUs: 295, adapter: 2, everyNode: 2, forwards: 2, sqlTx: 1, pgUs: 1200 },
  speakerChange: { nodeUs: 1600, redisCommands: 10, redisUs: 120, adapter: 1, everyNode: 0, forwards: 4, sqlTx: 0, pgUs: 0 },
  // A microphone or camera toggle (`media:state`) is a room command like a speaker change; not measured on its own.
  mediaToggle: { nodeUs: 1600, redisCommands: 10, redisUs: 120, adapter: 1, everyNode: 0, forwards: 4, sqlTx: 0, pgUs: 0 },
  signal: { nodeUs: 900, redisCommands: 3, redisUs: 125, adapter: 1, everyNode: 1, forwards: 2, sqlTx: 0, pgUs: 0 },
} satisfies Record<string, Cost>;

/** Measured elsewhere, or by the same script outside its table. */
const measured = {
  /** Node CPU per audio level (µs): op-costs at 4 000/s, 46–62 on one node, 48–75 on two; row (b1) at 10 000/s, 20–46. */
  levelUs: 60,
  /** Node CPU per idle attached socket and second (µs): op-costs, 7–22 on one node, 14–30 on two (pings every 25 s, the owners' sweep). */
  idleSocketUs: 20,
  /** Node RSS per attached socket (KiB): row (d), 14.7 at 19 800 (2026-12-07, after the presence entries). */
  socketKiB: 15,
  /** A node's RSS before sockets (MiB), and its CPU doing nothing (µs/s: heartbeat, sweeps, metrics; 10–23 ms/s, 15 a node on two). */
  nodeBaseMiB: 120,
  nodeIdleUs: 17_000,
  /**
   * Redis commands a node runs per second doing nothing (two heartbeat scripts every 300 ms, the
   * poll of the 16 deadline buckets and of the node registry, the sweep): 40.3 on one node, 80.6
   * on two; and their Redis CPU, Redis idle (µs/s): 4 860 with one node, 5 200 with two, taken as
   * 2 600 a node (an upper bound: Redis's own idle work is in it).
   */
  nodeIdleRedisCommands: 40.3,
  nodeIdleRedisUs: 2_600,
  /** Password login: scrypt, ≈ 180 ms of CPU (docs/performance.md "Other figures"). */
  loginUs: 180_000,
  /**
   * Node CPU per adapter message a node receives for nothing it holds (µs): row (k), 9–75 when
   * messages come by the hundreds a second (read several at a time), 150–175 when they come one by one.
   */
  fanoutMessageUs: 40,
  /**
   * bench/redis-fanout.ts: Redis's CPU per command when busy (50 connections) is 1/7 of what it is
   * when mostly idle (a 12-command script 24–28 µs against 170–209; PUBLISH 10 against 62–83). The
   * per-operation Redis CPU above was measured with Redis mostly idle.
   */
  redisBusyFactor: 1 / 7,
  /** Redis CPU per further copy of a published message, Redis busy (µs): 0.2–0.35 up to 32 subscribers, 0.65–0.77 at 128. */
  redisDeliveryUs: 0.7,
  /** A PUBLISH to a mostly idle Redis (µs): bench/redis-fanout.ts, 62–83. */
  publishIdleUs: 70,
  /** A single command to a busy Redis (µs): bench/redis-fanout.ts, PUBLISH 10.3. */
  commandBusyUs: 10,
  /**
   * The heartbeat's registry script (ZADD, GET, PTTL) on a busy Redis (µs): not measured; a third
   * of the 12-command script's 24–28 µs (bench/redis-fanout.ts).
   */
  registerBusyUs: 10,
  /** A node beats every 300 ms (src/cluster/heartbeat.ts): one registry write each. */
  heartbeatEveryMs: 300,
};

/** The workload assumed (docs/capacity.md "Assumptions"). */
const workload = {
  /** Share of rooms by size, and the mean size of each class. */
  mix: [
    { share: 0.7, size: 3 }, // 2–4 people
    { share: 0.25, size: 10 }, // 5–20
    { share: 0.05, size: 45 }, // 20–100
  ],
  /** A participant stays 30 min; a meeting lasts 45 min; half the meetings are created ahead of time. */
  staySeconds: 1800,
  meetingSeconds: 2700,
  createdAhead: 0.5,
  /** Half the joins are by guests (one guest sign-in each); a registered user logs in once per 8 hours. */
  guestShare: 0.5,
  loginEverySeconds: 8 * 3600,
  /** Each participant's socket reconnects once per stay (a network change, a reload). */
  reconnectsPerStay: 1,
  /** The meeting page sends a level every 66 ms, muted or not. */
  levelsPerSecond: 1000 / 66,
  /** A speaker change every 5 s in each room; a microphone or camera toggle every 2 min per participant. */
  speakerChangeEverySeconds: 5,
  mediaToggleEverySeconds: 120,
  /** Signals per pair of peers negotiating (offer, answer, six candidates each way), and the mesh's limit. */
  signalsPerPair: 14,
  meshMax: 4,
  /** PostgreSQL: busy hours a day (the concurrent figure is the peak). */
  busySecondsPerDay: 10 * 3600,
  /** A node process runs at most this share of one core on average (headroom for bursts and GC; row (b1) held 10 000 levels/s at ≈ 45 %). */
  nodeBudget: 0.5,
  /** A Redis or PostgreSQL core is planned at most this busy. */
  serviceBudget: 0.7,
  /** Background work of PostgreSQL (WAL writer, checkpoints, autovacuum) over the backends' CPU. */
  pgOverhead: 1.3,
  poolPerNode: 10,
  /** PostgreSQL's default max_connections. */
  maxConnections: 100,
  /** TURN: the share of peer connections relayed, and a camera stream's bitrate (Mbit/s, 720p). */
  relayedShare: 0.15,
  streamMbps: 1.5,
};
type Workload = typeof workload;

const meanRoom = workload.mix.reduce((sum, c) => sum + c.share * c.size, 0);
/** Per participant: mesh peers it negotiates with (only the first `meshMax` of a room are in its mesh). */
const meshPeers =
  workload.mix.reduce((sum, c) => sum + c.share * c.size * (Math.min(c.size, workload.meshMax) / c.size) * (Math.min(c.size, workload.meshMax) - 1), 0) /
  meanRoom;
/**
 * The size of the room a participant is in, on average over participants: an event a participant
 * causes goes to a room this big, so (sharded adapter) to about this many nodes.
 */
const sizeSeen = workload.mix.reduce((sum, c) => sum + c.share * c.size * c.size, 0) / meanRoom;

/**
 * How the nodes share Redis. `pub/sub` and `sharded` run on one Redis (or a Sentinel pair); on a
 * Redis Cluster the sharded adapter is mandatory, and a room's channel moves for another node's
 * sockets go to that node's inbox (a request and its reply, two publishes to one node each)
 * instead of the adapter's broadcast to every node. `cluster, private signals` is not offered
 * today: signals sent to the socket's own node only (the adapter's `dynamic-private` mode, or
 * the node's inbox).
 */
type Setup = 'pub/sub' | 'sharded' | 'cluster' | 'cluster, private signals';
const onCluster = (setup: Setup) => setup === 'cluster' || setup === 'cluster, private signals';
const privateSignals = (setup: Setup) => setup === 'cluster, private signals';

/**
 * Estimated, not measured (bench/op-costs.ts runs on one Redis): on a Redis Cluster an attach's or
 * a detach's channel move for a socket on another node is one inbox request and its reply (two
 * SPUBLISH, each delivered to one node) instead of one adapter broadcast (SOCKETS_JOIN or
 * SOCKETS_LEAVE, delivered to every node). The node CPU is taken as unchanged: on two nodes the
 * broadcast too was received twice.
 */
function onRedisCluster(cost: Cost, publishUs: number): Cost {
  return {
    ...cost,
    redisCommands: cost.redisCommands + 1,
    redisUs: cost.redisUs + publishUs,
    adapter: cost.adapter - 1,
    everyNode: cost.everyNode - 1,
    forwards: cost.forwards + 2,
  };
}

/**
 * With the sharded adapter an attach and a detach cost a few more Redis commands than with the
 * pub/sub adapter (bench/op-costs.ts --nodes=2 --adapter=redis-sharded on 2026-12-06: 16.1 and
 * 15.2, against 14 and 14.3), probably its SSUBSCRIBE and SUNSUBSCRIBE when a node's first socket
 * joins a room's channel and its last leaves. A Redis Cluster uses this adapter.
 */
const shardedCommands = { attach: 16.1, detach: 15.2 };

type Plan = ReturnType<typeof plan>;

function plan(participants: number, setup: Setup, w: Workload = workload) {
  const base: Record<keyof typeof measuredCosts, Cost> =
    setup === 'pub/sub'
      ? measuredCosts
      : {
          ...measuredCosts,
          attach: { ...measuredCosts.attach, redisCommands: shardedCommands.attach },
          detach: { ...measuredCosts.detach, redisCommands: shardedCommands.detach },
        };
  const costs: Record<keyof typeof measuredCosts, Cost> = onCluster(setup)
    ? { ...base, attach: onRedisCluster(base.attach, measured.publishIdleUs), detach: onRedisCluster(base.detach, measured.publishIdleUs) }
    : base;
  const rooms = participants / meanRoom;
  const joins = participants / w.staySeconds;
  const created = rooms / w.meetingSeconds;
  const attaches = joins * (1 + w.reconnectsPerStay);
  const rates: Record<keyof typeof costs, number> = {
    guestSignIn: joins * w.guestShare,
    createRoom: created * w.createdAhead,
    firstJoinLoads: created * w.createdAhead,
    createAndJoin: created * (1 - w.createdAhead),
    guestJoin: joins - created,
    attach: attaches,
    detach: attaches,
    leave: joins,
    endRoom: created,
    speakerChange: rooms / w.speakerChangeEverySeconds,
    mediaToggle: participants / w.mediaToggleEverySeconds,
    signal: attaches * meshPeers * w.signalsPerPair,
  };
  const sum = (pick: (cost: Cost) => number) => Object.entries(rates).reduce((total, [op, rate]) => total + rate * pick(costs[op as keyof typeof costs]), 0);
  const levels = participants * w.levelsPerSecond;
  const logins = (participants * (1 - w.guestShare)) / w.loginEverySeconds;
  const adapterPublishes = sum((c) => c.adapter);
  const everyNode = sum((c) => c.everyNode) - (privateSignals(setup) ? rates.signal : 0);
  /** Copies of room-channel messages the sharded adapter delivers: one per node holding one of the room's sockets (about one per person, up to the number of nodes). */
  const roomCopies = (nodes: number) =>
    (adapterPublishes - sum((c) => c.everyNode) - rates.speakerChange) * Math.min(sizeSeen, nodes) + rates.speakerChange * Math.min(meanRoom, nodes);

  // Node CPU (cores) that does not depend on the number of nodes, then the fan-out that does.
  const fixedCores = (sum((c) => c.nodeUs) + levels * measured.levelUs + participants * measured.idleSocketUs + logins * measured.loginUs) / 1e6;
  /** Messages a node receives from the adapter per second, with `nodes` nodes. */
  const receivedPerNode = (nodes: number) => {
    if (setup === 'pub/sub') return adapterPublishes;
    const oneSocket = privateSignals(setup) ? rates.signal : 0;
    return everyNode + (roomCopies(nodes) + oneSocket) / nodes;
  };
  const perNodeCores = (nodes: number) => (fixedCores * 1e6) / nodes / 1e6 + (measured.nodeIdleUs + receivedPerNode(nodes) * measured.fanoutMessageUs) / 1e6;
  let nodes = Math.ceil(fixedCores / w.nodeBudget);
  // More nodes add fan-out to each: grow until each fits, or give up when fan-out alone fills a node.
  let fits = true;
  while (perNodeCores(nodes) > w.nodeBudget) {
    if ((receivedPerNode(nodes) * measured.fanoutMessageUs) / 1e6 >= w.nodeBudget * 0.9 || nodes > 1e6) {
      fits = false;
      break;
    }
    nodes = Math.ceil(nodes * 1.05) + 1;
  }
  const socketsPerNode = participants / nodes;
  const nodeRssMiB = measured.nodeBaseMiB + (socketsPerNode * measured.socketKiB) / 1024;

  // Redis: the live state's commands and the adapter's deliveries, on one Redis or spread over a Redis Cluster's shards.
  const redisCommands = sum((c) => c.redisCommands) + nodes * measured.nodeIdleRedisCommands;
  /** Each operation's own Redis work (its publishes and their first copies included), at idle-Redis cost: an upper bound. */
  const stateCoresIdle = (sum((c) => c.redisUs) + nodes * measured.nodeIdleRedisUs) / 1e6;
  const stateCores = stateCoresIdle * measured.redisBusyFactor;
  const deliveries = setup === 'pub/sub' ? adapterPublishes * nodes : everyNode * nodes + roomCopies(nodes) + (privateSignals(setup) ? rates.signal : 0);
  /** The further copies of the adapter's messages (the first is in the operations' own cost). */
  const deliveryCores = (Math.max(0, deliveries - adapterPublishes) * measured.redisDeliveryUs) / 1e6;

  /**
   * A Redis Cluster's primaries (shards): the work above at ≤ 70 % of a core each, assuming it
   * spreads evenly (room codes are random and each room's keys share one slot; the adapter's
   * channels are per room too), and at least 3 (Redis Cluster's minimum). What does not spread:
   * the `{cluster}` keys on one shard (each heartbeat's registry write, each node's dead-node poll
   * once a second), and the deadline index's 16 buckets (each node polls every bucket once a
   * second; each write that moves a room's deadlines updates its bucket).
   */
  /**
   * What the sharded adapter sends to every node (membership changes on one Redis, a signal to
   * one socket in `dynamic` mode, a message to several channels) goes over its one main channel:
   * on a Redis Cluster, one shard delivers all of those copies.
   */
  const mainChannelCores = onCluster(setup) ? (everyNode * (measured.commandBusyUs + nodes * measured.redisDeliveryUs)) / 1e6 : 0;
  const shards = onCluster(setup) ? Math.max(3, Math.ceil((stateCores + deliveryCores) / w.serviceBudget)) : 1;
  const shardsIdle = onCluster(setup) ? Math.max(3, Math.ceil((stateCoresIdle + deliveryCores) / w.serviceBudget)) : 1;
  const registryWrites = nodes * (1000 / measured.heartbeatEveryMs);
  const clusterKeyCores = (registryWrites * measured.registerBusyUs + nodes * measured.commandBusyUs) / 1e6;
  const deadlineIndexWrites = rates.createRoom + rates.createAndJoin + rates.endRoom + joins * 2 + attaches * 2;
  const bucketCommands = nodes + deadlineIndexWrites / 16;
  const bucketCores = (bucketCommands * measured.commandBusyUs) / 1e6;

  const sqlTx = sum((c) => c.sqlTx);
  const pgCores = (sum((c) => c.pgUs) * w.pgOverhead) / 1e6;
  const rowsPerDay = {
    inserted: (rates.guestSignIn + created + joins) * w.busySecondsPerDay,
    updated: (joins + created * 2) * w.busySecondsPerDay,
  };
  const relayedPairs = ((participants * meshPeers) / 2) * w.relayedShare;
  return {
    participants,
    turnGbps: (relayedPairs * 2 * w.streamMbps) / 1000,
    setup,
    rooms,
    rates,
    levels,
    logins,
    fits,
    nodes,
    fixedCores,
    receivedPerNode: receivedPerNode(nodes),
    perNodeCores: perNodeCores(nodes),
    socketsPerNode,
    nodeRssMiB,
    redisCommands,
    stateCores,
    stateCoresIdle,
    adapterPublishes,
    deliveries,
    deliveryCores,
    shards,
    shardsIdle,
    mainChannelCores,
    registryWrites,
    clusterKeyCores,
    bucketCommands,
    bucketCores,
    sqlTx,
    pgCores,
    connections: nodes * w.poolPerNode,
    rowsPerDay,
  };
}

const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }).replace(/,/g, ' ');
const setups: Setup[] = ['pub/sub', 'sharded', 'cluster', 'cluster, private signals'];
const sizes = [10_000, 100_000, 1_000_000];
const header = (first: string) => `| ${first} | ${sizes.map((size) => n(size)).join(' | ')} |\n| --- | --- | --- | --- |`;

console.log(
  `Mean room ${n(meanRoom, 2)} people; ${n(meshPeers, 2)} mesh peers per participant; a participant's room has ${n(sizeSeen, 1)} people on average.\n`,
);
const rates = sizes.map((size) => plan(size, 'pub/sub'));
console.log(header('per second'));
const rateRows: [string, (p: Plan) => number][] = [
  ['rooms (concurrent, not per second)', (p) => p.rooms],
  ['joins (and as many leaves)', (p) => p.rates.leave],
  ['rooms created (and as many ended)', (p) => p.rates.endRoom],
  ['socket attaches (and detaches)', (p) => p.rates.attach],
  ['audio levels', (p) => p.levels],
  ['speaker changes', (p) => p.rates.speakerChange],
  ['microphone and camera toggles', (p) => p.rates.mediaToggle],
  ['signals', (p) => p.rates.signal],
  ['password logins', (p) => p.logins],
];
for (const [label, pick] of rateRows) console.log(`| ${label} | ${rates.map((p) => n(pick(p))).join(' | ')} |`);

const setupNames: Record<Setup, string> = {
  'pub/sub': 'pub/sub adapter, one Redis',
  sharded: 'sharded adapter (dynamic), one Redis',
  cluster: 'Redis Cluster (sharded adapter, dynamic; channel moves through inboxes)',
  'cluster, private signals': "Redis Cluster, signals to the socket's node only (not offered)",
};
for (const setup of setups) {
  console.log(`\n${setupNames[setup]}\n`);
  console.log(header(''));
  const plans = sizes.map((size) => plan(size, setup));
  const lines: [string, (p: Plan) => string][] = [
    ['node CPU without fan-out (cores)', (p) => n(p.fixedCores, 1)],
    ['node processes (≤ 50 % of a core each)', (p) => (p.fits ? n(p.nodes) : `none fit (${n(p.nodes)}+)`)],
    ['adapter messages each node receives /s', (p) => n(p.receivedPerNode)],
    ['each node: share of a core', (p) => `${n(p.perNodeCores * 100)} %`],
    ['each node: sockets, RSS (MiB)', (p) => `${n(p.socketsPerNode)}, ${n(p.nodeRssMiB)}`],
    ['Redis commands /s (live state)', (p) => n(p.redisCommands)],
    ['Redis CPU, room commands (cores; busy Redis, and idle-Redis upper bound)', (p) => `${n(p.stateCores, 2)} (${n(p.stateCoresIdle, 1)})`],
    ['adapter publishes /s', (p) => n(p.adapterPublishes)],
    ['pub/sub deliveries /s', (p) => n(p.deliveries)],
    ['Redis CPU, further copies of adapter messages (cores)', (p) => n(p.deliveryCores, 2)],
    ...(onCluster(setup)
      ? ([
          ['Redis Cluster primaries at ≤ 70 %, even spread (idle-Redis upper bound)', (p) => `${n(p.shards)} (${n(p.shardsIdle)})`],
          ["the adapter's main channel, on one shard (cores)", (p) => n(p.mainChannelCores, 2)],
          ['{cluster} shard: registry writes /s, cores', (p) => `${n(p.registryWrites)}, ${n(p.clusterKeyCores, 2)}`],
          ['each deadline bucket: commands /s, cores', (p) => `${n(p.bucketCommands)}, ${n(p.bucketCores, 2)}`],
        ] satisfies [string, (p: Plan) => string][])
      : []),
    ['PostgreSQL transactions /s', (p) => n(p.sqlTx)],
    ['PostgreSQL CPU (cores)', (p) => n(p.pgCores, 2)],
    ['PostgreSQL connections (pools of 10)', (p) => n(p.connections)],
    ['rows inserted / updated per day (M)', (p) => `${n(p.rowsPerDay.inserted / 1e6, 1)} / ${n(p.rowsPerDay.updated / 1e6, 1)}`],
    ['TURN relay, each way (Gbit/s)', (p) => n(p.turnGbps, 1)],
  ];
  for (const [label, pick] of lines) console.log(`| ${label} | ${plans.map(pick).join(' | ')} |`);
}

/** The smallest number of participants (on a 5 % grid) at which `reached` holds. */
function firstReached(reached: (size: number) => boolean): string {
  for (let size = 1_000; size <= 10_000_000; size = Math.ceil(size * 1.05)) if (reached(size)) return n(Math.round(size / 1000) * 1000);
  return 'beyond 10 000 000';
}
console.log('\nWhere each limit is reached (participants)\n');
console.log(`| limit | ${setups.join(' | ')} |\n| --- | --- | --- | --- | --- |`);
const limits: [string, (p: Plan) => boolean][] = [
  ["PostgreSQL's default max_connections (100) taken by the node pools", (p) => p.connections > workload.maxConnections],
  [
    'one Redis (live state and adapter) past 70 % of a core; on a Redis Cluster, 3 primaries',
    (p) => p.stateCores + p.deliveryCores > workload.serviceBudget * (onCluster(p.setup) ? 3 : 1),
  ],
  ['further copies of adapter messages alone past 70 % of a Redis core', (p) => p.deliveryCores > workload.serviceBudget],
  ['room commands alone past 70 % of a Redis core', (p) => p.stateCores > workload.serviceBudget],
  ['the same at idle-Redis costs (upper bound)', (p) => p.stateCoresIdle > workload.serviceBudget],
  ["the shard of the adapter's main channel past 70 % of a core (that channel alone)", (p) => p.mainChannelCores > workload.serviceBudget],
  ['the {cluster} shard past 70 % of a core (its keys alone)', (p) => onCluster(p.setup) && p.clusterKeyCores > workload.serviceBudget],
  ['a node spends a quarter of its budget on fan-out', (p) => (p.receivedPerNode * measured.fanoutMessageUs) / 1e6 > workload.nodeBudget / 4],
  ['no number of nodes fits (fan-out fills a node)', (p) => !p.fits],
  ['PostgreSQL past 70 % of one core', (p) => p.pgCores > workload.serviceBudget],
];
for (const [label, reached] of limits) console.log(`| ${label} | ${setups.map((setup) => firstReached((size) => reached(plan(size, setup)))).join(' | ')} |`);

console.log(`\nIf clients sent audio levels less often (${setupNames['cluster, private signals']})\n`);
console.log(header('levels per participant per second'));
for (const levelsPerSecond of [workload.levelsPerSecond, 5, 1]) {
  const plans = sizes.map((size) => plan(size, 'cluster, private signals', { ...workload, levelsPerSecond }));
  console.log(`| ${n(levelsPerSecond, 1)}: node processes, Redis primaries | ${plans.map((p) => `${n(p.nodes)}, ${n(p.shards)}`).join(' | ')} |`);
}
