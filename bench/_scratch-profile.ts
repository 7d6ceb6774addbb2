import { registerHost, seatGuests } from './lib/api';
import { startCluster } from './lib/processes';
import { startRedis, prepareDatabase } from './lib/services';
import { startSocketLoad } from './lib/socket-load';

async function main() {
  await prepareDatabase();
  const stopRedis = await startRedis();
  const cluster = await startCluster(0);
  const node = await cluster.addNode({}, );
  const load = await startSocketLoad(2);
  const clients = await seatGuests(node.url, await registerHost(node.url), 1000, 9);
  await load.open(node.url, clients);
  await load.levels(5000, 2000, -60);
  const r = await load.levels(Number(process.env.RATE ?? 10000), Number(process.env.MS ?? 8000), -60);
  console.log(r);
  await load.closeSockets();
  await load.stop();
  await cluster.close();
  await stopRedis();
}
void main().then(() => process.exit());
