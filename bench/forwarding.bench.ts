import { startCluster, type ClusterNode } from '../test/support/cluster';

/**
 * What forwarding costs: the same room command (`GET /participants`, a read through the room's
 * actor) sent 500 times to the node that owns the room and 500 times to another node, which
 * forwards it over Redis. Both nodes are separate processes on the local PostgreSQL and Redis
 * (the test database, as in `npm test`). Sequential requests, interleaved, so both see the same
 * machine load. Issue #6's `npm run bench` measures the realtime paths properly.
 * Run: npx tsx bench/forwarding.bench.ts
 */
const rounds = 500;

async function main(): Promise<void> {
  const cluster = await startCluster(2);
  try {
    const [owner, other] = cluster.nodes as [ClusterNode, ClusterNode];
    const guest = await owner.request('POST', '/api/v1/auth/register', {
      body: { email: `bench-${Date.now()}@example.test`, password: 'correct horse battery', display_name: 'Bench' },
    });
    const token = guest.body.access_token as string;
    const room = await owner.request('POST', '/api/v1/meetings', { token, body: { name: 'Bench' } });
    const code = room.body.room_code as string;
    await owner.request('POST', `/api/v1/meetings/${code}/join`, { token, body: {} });
    if ((await cluster.ownerOf(code)) !== owner.id) throw new Error('the room is not owned by the first node');

    const timings: Record<'owner' | 'forwarded', number[]> = { owner: [], forwarded: [] };
    const once = async (node: ClusterNode) => {
      const started = process.hrtime.bigint();
      const response = await node.request('GET', `/api/v1/meetings/${code}/participants`, { token });
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    for (let i = 0; i < 50; i++) await Promise.all([once(owner), once(other)]); // warm-up
    for (let i = 0; i < rounds; i++) {
      timings.owner.push(await once(owner));
      timings.forwarded.push(await once(other));
    }
    for (const [name, values] of Object.entries(timings)) {
      values.sort((a, b) => a - b);
      const at = (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))]!.toFixed(2);
      console.log(`${name.padEnd(9)} p50 ${at(0.5)} ms  p99 ${at(0.99)} ms  (${rounds} requests)`);
    }
  } finally {
    await cluster.close();
  }
}

void main();
