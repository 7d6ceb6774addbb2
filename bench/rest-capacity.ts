import { setTimeout as sleep } from 'node:timers/promises';
import { registerHost } from './lib/api';
import { pacedPairs } from './lib/paced';
import { runOnCluster } from './lib/processes';

/**
 * `npm run build && npx tsx bench/rest-capacity.ts 250 300 350`: where row (a)'s queue forms.
 * One node, as in (a); for each rate, 10 s of evenly spaced create + join pairs (the open-loop
 * load of (a)'s goodput search), then the request latency, the node's CPU (share of one core), the
 * load client's CPU, and the node's event-loop delay p99 (`/metrics`) for each second.
 */
const rates = process.argv.slice(2).map(Number);
runOnCluster(1, { RECONNECT_GRACE_S: '3600' }, async (cluster) => {
  const node = cluster.nodes[0]!;
  const host = await registerHost(node.url);
  const headers = { authorization: `Bearer ${host.token}` };
  await pacedPairs(node.url, headers, 100, 3);
  for (const rate of rates) {
    const cpu0 = node.cpuMs();
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const lags: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await (await fetch(`${node.url}/metrics`)).text();
        const lag = /nodejs_eventloop_lag_p99_seconds\{[^}]*\} ([0-9.e-]+)/.exec(text);
        if (lag) lags.push(Number(lag[1]) * 1000);
        await sleep(1000);
      }
    })();
    const result = await pacedPairs(node.url, headers, rate, 10);
    sampling = false;
    await sampler;
    const wall = performance.now() - t0;
    const self = process.cpuUsage(self0);
    console.log(
      `${rate} pairs/s: p50 ${result.latencies.at(50).toFixed(1)} p99 ${result.latencies.at(99).toFixed(1)} ms, failed ${result.failed}; node CPU ${(((node.cpuMs() - cpu0) / wall) * 100).toFixed(0)}%, client CPU ${(((self.user + self.system) / 1000 / wall) * 100).toFixed(0)}%, ELD p99 per s ${lags.map((l) => l.toFixed(0)).join(' ')}`,
    );
    await sleep(3000);
  }
});
