import { setTimeout as sleep } from 'node:timers/promises';
import { pacedPairs, pairsNode } from './lib/paced';
import { forkHelper, type Proc } from './lib/processes';
import { prepareDatabase, startRedis } from './lib/services';

/**
 * `npm run build && npx tsx bench/cpu-per-pair.ts [--rate=250] [--seconds=10] [--rounds=2]`: what
 * one create + join pair of row (a) costs the server in CPU, user and system time apart (from
 * /proc), at a fixed open-loop rate (`pacedPairs`, after a 5 s warm-up at the same rate), for
 * three servers in turn, each round in the same order: our node in cluster mode (as in (a)), our
 * node on its own without Redis (`REDIS_URL` empty: what the Redis work costs is the difference),
 * and (a)'s baseline (`node:http` + `pg`, bench/baselines/http-pg.ts). Also the request p50 and
 * p99 and the failed pairs at that rate. Run it on an otherwise idle machine: the load client,
 * PostgreSQL and Redis share the cores with the server measured.
 */
const option = (name: string, fallback: number) => Number(process.argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const rate = option('rate', 250);
const seconds = option('seconds', 10);
const rounds = option('rounds', 2);

interface Side {
  name: string;
  start(): Promise<{ server: Proc; url: string; headers: Record<string, string>; stop(): Promise<void> }>;
}

const ours = (name: string, env: Record<string, string>): Side => ({ name, start: () => pairsNode(env) });

const sides: Side[] = [
  ours('ours, cluster mode', {}),
  ours('ours, one node without Redis', { REDIS_URL: '' }),
  {
    name: 'baseline (node:http + pg)',
    async start() {
      const baseline = await forkHelper('bench/baselines/http-pg.ts');
      return { server: baseline, url: baseline.hello.url as string, headers: { 'x-user-id': baseline.hello.hostId as string }, stop: () => baseline.stop() };
    },
  },
];

async function main(): Promise<void> {
  await prepareDatabase();
  const stopRedis = await startRedis();
  try {
    console.log(`CPU per create + join pair at ${rate} pairs/s for ${seconds} s, after 5 s at the same rate`);
    for (let round = 1; round <= rounds; round++) {
      for (const side of sides) {
        const { server, url, headers, stop } = await side.start();
        try {
          await pacedPairs(url, headers, rate, 5);
          const before = server.cpuTimes();
          const run = await pacedPairs(url, headers, rate, seconds);
          const after = server.cpuTimes();
          const perPair = (ms: number) => (ms / run.sent).toFixed(2);
          console.log(
            `round ${round}, ${side.name}: user ${perPair(after.userMs - before.userMs)} + system ${perPair(after.systemMs - before.systemMs)} ms per pair; ` +
              `p50 ${run.latencies.at(50).toFixed(1)}, p99 ${run.latencies.at(99).toFixed(1)} ms; ${run.failed}/${run.sent} failed`,
          );
        } finally {
          await stop();
        }
        await sleep(1000);
      }
    }
  } finally {
    await stopRedis();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
