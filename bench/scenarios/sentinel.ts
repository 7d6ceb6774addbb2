import { setTimeout as sleep } from 'node:timers/promises';
import { startSentinelSet } from '../../test/support/redis-sentinel';
import { call, createRoom, guest, join, registerHost } from '../lib/api';
import { startCluster } from '../lib/processes';
import type { Row } from '../lib/report';
import type { BenchContext } from './context';

/**
 * (j) The pause a Redis failover causes under Sentinel: two nodes on a set of their own (a
 * primary, a replica, three sentinels with `down-after-milliseconds 1000`, the test suite's
 * set-up), guests joining a room through both nodes every 50 ms; the primary is killed. Ours:
 * from the kill to the first `joined` answer on the slower node. Baseline, the same run: from the
 * kill to the sentinels naming the new primary, the part of the pause that is Sentinel's own.
 */
export async function sentinelFailover(context: BenchContext): Promise<Row[]> {
  const set = await startSentinelSet();
  const cluster = await startCluster(2, { REDIS_SENTINELS: set.sentinels, REDIS_SENTINEL_NAME: set.name, REDIS_URL: '' });
  try {
    const nodes = cluster.nodes;
    const host = await registerHost(nodes[0]!.url);
    const code = await createRoom(nodes[0]!.url, host, { max_participants: 1000 });
    await join(nodes[0]!.url, code, host);
    const killed = await set.killPrimary();
    const killedAt = performance.now();
    let switchedAt: number | null = null;
    const watchSentinels = (async () => {
      while (switchedAt === null && performance.now() - killedAt < 60_000) {
        if ((await set.primaryPort().catch(() => killed)) !== killed) switchedAt = performance.now();
        else await sleep(20);
      }
    })();
    const firstJoined = await Promise.all(
      nodes.map(async (node, i) => {
        for (let n = 0; performance.now() - killedAt < 60_000; n++) {
          const ok = await guest(node.url, `Guest ${i}.${n}`)
            .then((who) => call<{ status: string }>(node.url, 'POST', `/meetings/${code}/join`, who.token, {}))
            .then((answer) => answer.status === 'joined')
            .catch(() => false);
          if (ok) return performance.now() - killedAt;
          await sleep(50);
        }
        throw new Error(`node ${node.id}: no joined answer within 60 s of the primary's death`);
      }),
    );
    await watchSentinels;
    if (switchedAt === null) throw new Error('the sentinels named no new primary within 60 s');
    const ours = Math.max(...firstJoined);
    const sentinel = (switchedAt as number) - killedAt;
    context.log(
      `(j) Sentinel failover: first joined answer ${firstJoined.map((ms) => ms.toFixed(0)).join(' ms, ')} ms; the sentinels named the new primary after ${sentinel.toFixed(0)} ms`,
    );
    return [
      {
        id: 'j.sentinel',
        benchmark: '(j) Redis primary killed under Sentinel: first joined answer on the slower of 2 nodes',
        unit: 'ms',
        better: 'lower',
        figure: ours,
        baseline: sentinel,
        baselineName: 'the sentinels naming the new primary',
        target: { figure: 5_000 },
        detail: `per node: ${firstJoined.map((ms) => ms.toFixed(0)).join(', ')} ms; one run (a failover takes the set down)`,
      },
    ];
  } finally {
    await cluster.close();
    await set.close();
  }
}
