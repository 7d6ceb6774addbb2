import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { io } from 'socket.io-client';
import { ownerKey } from '../../src/live-state/redis-keys';
import { call, createRoom, join, registerHost, type Session } from '../lib/api';
import { startForwarder } from '../lib/forwarder';
import { forkHelper, startCluster, type Cluster, type Forked, type ServerNode } from '../lib/processes';
import type { Row } from '../lib/report';
import { benchRedisUrl, deletePrefix } from '../lib/services';
import { Latencies } from '../lib/stats';
import type { BenchContext } from './context';

/**
 * (e) Failover: a room's owner is killed (SIGKILL) or stopped (SIGTERM) and another node is asked
 * for the room (`GET /participants`) until it answers 200; the figure is the time from the signal
 * to that first success. A fresh node replaces the gone one before the next trial. Baseline: a
 * plain socket.io-client (default reconnection) behind a TCP forwarder whose Socket.IO server is
 * killed: the time to its `connect` on the next server.
 */
async function takeover(cluster: Cluster, redis: Redis, host: Session, signal: NodeJS.Signals): Promise<number> {
  const [owner, other] = cluster.nodes.filter((node) => node.process.exitCode === null && node.process.signalCode === null) as [ServerNode, ServerNode];
  const code = await createRoom(owner.url, host);
  await join(owner.url, code, host);
  const recorded = await redis.hget(ownerKey(cluster.prefix, code), 'node');
  if (recorded !== owner.id) throw new Error(`room ${code} is owned by ${recorded}, expected ${owner.id}`);
  await call(other.url, 'GET', `/meetings/${code}/participants`, host.token); // the other node knows the owner
  const signalledAt = performance.now();
  owner.process.kill(signal);
  for (;;) {
    const response = await fetch(`${other.url}/api/v1/meetings/${code}/participants`, { headers: { authorization: `Bearer ${host.token}` } }).catch(() => null);
    if (response?.status === 200) break;
    await response?.text();
  }
  const took = performance.now() - signalledAt;
  await owner.exited;
  cluster.nodes.splice(cluster.nodes.indexOf(owner), 1);
  await cluster.addNode({ NODE_ID: `n${Date.now().toString(36)}` });
  return took;
}

async function reconnection(trials: number): Promise<Latencies> {
  const latencies = new Latencies();
  const servers: Forked[] = await Promise.all([forkHelper('bench/baselines/socketio.ts'), forkHelper('bench/baselines/socketio.ts')]);
  const portOf = (server: Forked) => Number(new URL(server.hello.url as string).port);
  const forwarder = await startForwarder(() => servers.map(portOf));
  const client = io(`http://127.0.0.1:${forwarder.port}`, { transports: ['websocket'] });
  try {
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    for (let i = 0; i < trials; i++) {
      const reconnected = new Promise<number>((resolve) => client.io.once('reconnect', () => resolve(performance.now())));
      const killedAt = performance.now();
      servers.shift()!.process.kill('SIGKILL');
      latencies.add((await reconnected) - killedAt);
      servers.push(await forkHelper('bench/baselines/socketio.ts'));
    }
  } finally {
    client.close();
    await forwarder.close();
    await Promise.all(servers.map((server) => server.stop()));
  }
  return latencies;
}

export async function failover(context: BenchContext): Promise<Row[]> {
  const trials = context.quick ? 2 : 10;
  context.log(`(e) failover: ours (3 nodes), ${trials} × kill -9 and ${trials} × SIGTERM`);
  const cluster = await startCluster(3);
  const redis = new Redis(benchRedisUrl);
  const kill = new Latencies();
  const term = new Latencies();
  try {
    const host = await registerHost(cluster.nodes[0]!.url);
    for (let i = 0; i < trials; i++) {
      kill.add(await takeover(cluster, redis, host, 'SIGKILL'));
      term.add(await takeover(cluster, redis, host, 'SIGTERM'));
      await sleep(200);
    }
  } finally {
    await cluster.close();
    await deletePrefix(cluster.prefix);
    await redis.quit();
  }
  context.log(
    `(e) ours: kill -9 p50 ${kill.at(50).toFixed(0)} ms, max ${kill.summary().max.toFixed(0)} ms; SIGTERM p50 ${term.at(50).toFixed(0)} ms, max ${term.summary().max.toFixed(0)} ms`,
  );
  context.log('(e) failover: baseline (socket.io-client reconnection after a kill)');
  const plain = await reconnection(trials);
  const describe = (l: Latencies) => `p50 ${l.at(50).toFixed(0)} ms, max ${l.summary().max.toFixed(0)} ms over ${l.count}`;
  return [
    {
      id: 'e.kill',
      benchmark: '(e) kill -9 of the owner → first successful command, p99',
      unit: 'ms',
      better: 'lower',
      figure: kill.at(99),
      baseline: plain.at(99),
      baselineName: 'socket.io-client reconnection after a kill',
      target: { figure: 3_000 },
      detail: `ours ${describe(kill)}; baseline ${describe(plain)} (its default backoff: 1 s ± 50%)`,
    },
    {
      id: 'e.term',
      benchmark: '(e) SIGTERM of the owner → first successful command, p99',
      unit: 'ms',
      better: 'lower',
      figure: term.at(99),
      baseline: plain.at(99),
      baselineName: 'socket.io-client reconnection after a kill',
      target: { figure: 1_000 },
      detail: `ours ${describe(term)}`,
    },
  ];
}
