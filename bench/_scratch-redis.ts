import { Redis } from 'ioredis';
import { registerHost, seatGuests } from './lib/api';
import { startCluster } from './lib/processes';
import { startRedis, prepareDatabase, benchRedisUrl } from './lib/services';
import { startSocketLoad } from './lib/socket-load';

const stats = async (r: Redis) => Object.fromEntries([...(await r.info('commandstats')).matchAll(/cmdstat_(\S+):calls=(\d+)/g)].map(([, k, v]) => [k, Number(v)]));
const diff = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]).filter(([, v]) => v !== 0));
async function main() {
  await prepareDatabase();
  const stopRedis = await startRedis();
  const redis = new Redis(benchRedisUrl);
  const cluster = await startCluster(1);
  const node = cluster.nodes[0]!;
  const load = await startSocketLoad(2);
  const clients = await seatGuests(node.url, await registerHost(node.url), 500, 9);
  await load.open(node.url, clients);
  let s0 = await stats(redis);
  await new Promise((r) => setTimeout(r, 3000));
  let s1 = await stats(redis);
  console.log('idle 3s', diff(s0, s1));
  const r = await load.levels(5000, 3000, -60);
  const s2 = await stats(redis);
  console.log('levels', r.sent, diff(s1, s2));
  await load.closeSockets(); await load.stop(); await cluster.close(); await redis.quit(); await stopRedis();
}
void main().then(() => process.exit());
