import { Pool } from 'undici';
import { registerHost } from './api';
import { startCluster, type ServerNode } from './processes';
import { deletePrefix } from './services';
import { Latencies } from './stats';

/** A node of ours taking `pacedPairs`, with the header of the host who makes them; `stop` also deletes its Redis keys. */
export interface PairsNode {
  server: ServerNode;
  url: string;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * One node of ours in cluster mode (its own Redis prefix) and a registered host, for loads of
 * create + join pairs. The hosts join over REST and never attach a socket, so each would start
 * a reconnect grace (30 s) that expires during a later step, adding deferred work to it; real
 * hosts attach, so the grace is set past the run (an hour). `nodeArgs` as `startCluster` takes them.
 */
export async function pairsNode(env: Record<string, string> = {}, nodeArgs?: string[]): Promise<PairsNode> {
  const cluster = await startCluster(1, { RECONNECT_GRACE_S: '3600', ...env }, nodeArgs);
  const server = cluster.nodes[0]!;
  const host = await registerHost(server.url);
  return {
    server,
    url: server.url,
    headers: { authorization: `Bearer ${host.token}` },
    stop: async () => {
      await cluster.close();
      await deletePrefix(cluster.prefix);
    },
  };
}

/**
 * An open-loop load of create + join pairs: a new pair starts every 1/rate seconds, evenly
 * spaced, whatever the server's latency (autocannon's `overallRate` hands each connection a
 * quota per second, so its "paced" load arrives in bursts at the start of every second). Each
 * request's latency is recorded from when it was sent; the join is sent when the create answers.
 */
export async function pacedPairs(
  url: string,
  headers: Record<string, string>,
  pairsPerSecond: number,
  seconds: number,
): Promise<{ latencies: Latencies; failed: number; sent: number }> {
  const pool = new Pool(url, { connections: 256 });
  const latencies = new Latencies();
  let failed = 0;
  const post = async (path: string, body: string) => {
    const sentAt = performance.now();
    const response = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await response.body.text();
    latencies.add(performance.now() - sentAt);
    return { status: response.statusCode, text };
  };
  const pair = async () => {
    try {
      const created = await post('/api/v1/meetings', JSON.stringify({ name: 'Bench' }));
      if (created.status !== 201) return void (failed += 1);
      const { room_code: code } = JSON.parse(created.text) as { room_code: string };
      if ((await post(`/api/v1/meetings/${code}/join`, '{}')).status !== 200) failed += 1;
    } catch {
      failed += 1;
    }
  };
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  const total = Math.round(pairsPerSecond * seconds);
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * pairsPerSecond));
    for (; sent < due; sent++) inFlight.push(pair());
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  await pool.close();
  return { latencies, failed, sent: total };
}
