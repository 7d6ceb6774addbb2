import { pacedPairs, pairsNode, type PairsNode } from './lib/paced';
import { prepareDatabase, startRedis } from './lib/services';

/**
 * `npx tsx bench/side-by-side.ts BEFORE AFTER [--rate=120] [--windows=4]`: what a change to the
 * request path costs, with two builds of our node running at once (each a `main.js`, e.g. a copy
 * of an earlier `dist/` kept inside the checkout so that it finds `node_modules`:
 * `cp -r dist node_modules/.builds/before`, then `node_modules/.builds/before/src/main.js` and
 * `dist/src/main.js`). Both get create + join pairs at the same open-loop rate at the same time
 * (`pacedPairs`, after 5 s of warm-up), window after window, and each window prints each node's
 * CPU per pair from /proc. Measured side by side, a slower minute of the shared cores falls on
 * both, which builds measured one after the other cannot promise. The load whose requests go
 * first in each tick alternates between windows (before it did, the second argument's build
 * read 1-2 % cheaper than a swapped run gave it); swap the two arguments for a second run, so
 * that neither node is always started first either.
 */
const option = (name: string, fallback: number) => Number(process.argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const builds = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const rate = option('rate', 120);
const windows = option('windows', 4);
const windowSeconds = 10;

interface Side {
  build: string;
  node: PairsNode;
  /** CPU ms and pairs over all windows. */
  cpuMs: number;
  pairs: number;
}

async function main(): Promise<void> {
  if (builds.length !== 2) throw new Error('usage: npx tsx bench/side-by-side.ts BEFORE_MAIN_JS AFTER_MAIN_JS [--rate=120] [--windows=4]');
  await prepareDatabase();
  const stopRedis = await startRedis();
  const sides: Side[] = [];
  try {
    sides.push(...(await Promise.all(builds.map(async (build) => ({ build, node: await pairsNode({}, [build]), cpuMs: 0, pairs: 0 })))));
    console.log(`CPU per create + join pair, both builds at ${rate} pairs/s at once, ${windows} windows of ${windowSeconds} s after 5 s of warm-up`);
    await Promise.all(sides.map(({ node }) => pacedPairs(node.url, node.headers, rate, 5)));
    for (let window = 1; window <= windows; window++) {
      const before = sides.map(({ node }) => node.server.cpuMs());
      // The build whose load starts first (its requests lead every tick) changes each window.
      const leading = window % 2;
      const loads = new Array<ReturnType<typeof pacedPairs>>(2);
      for (const i of [leading, 1 - leading]) loads[i] = pacedPairs(sides[i]!.node.url, sides[i]!.node.headers, rate, windowSeconds);
      const runs = await Promise.all(loads);
      const figures = sides.map((side, i) => {
        const cpuMs = side.node.server.cpuMs() - before[i]!;
        side.cpuMs += cpuMs;
        side.pairs += runs[i]!.sent;
        return `${side.build}: ${(cpuMs / runs[i]!.sent).toFixed(3)} ms (p50 ${runs[i]!.latencies.at(50).toFixed(1)} ms, ${runs[i]!.failed} failed)`;
      });
      console.log(`window ${window}: ${figures.join(' | ')}`);
    }
    const [first, second] = sides.map((side) => side.cpuMs / side.pairs) as [number, number];
    console.log(
      `all windows: ${builds[0]} ${first.toFixed(3)} ms, ${builds[1]} ${second.toFixed(3)} ms per pair (${(((second - first) / first) * 100).toFixed(1)} %)`,
    );
  } finally {
    for (const side of sides) await side.node.stop();
    await stopRedis();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
