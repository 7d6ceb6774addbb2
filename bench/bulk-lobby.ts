import { call, createRoom, guest, join, pool, registerHost, type Session } from './lib/api';
import { runOnCluster, type ServerNode } from './lib/processes';

/**
 * `npm run build && npx tsx bench/bulk-lobby.ts [--waiting=1000]`: what a host's bulk lobby
 * actions cost one node in cluster mode with a full lobby: `POST …/admit-all` and
 * `POST …/reject-all`, each in a locked room where `--waiting` guests wait (joined over REST, no
 * sockets). Prints each request's time and the longest `GET /healthz` answered by the same node
 * meanwhile (polled every 5 ms): how long the node could serve nobody else.
 */
const waiting = Number(process.argv.find((arg) => arg.startsWith('--waiting='))?.split('=')[1] ?? 1000);

/** A locked room of `host` with `count` guests waiting in its lobby. */
async function fullLobby(node: ServerNode, host: Session, count: number): Promise<string> {
  const code = await createRoom(node.url, host, { lock_room: true, max_participants: count });
  await join(node.url, code, host);
  await pool(count, 16, async (i) => {
    const who = await guest(node.url, `Guest ${i}`);
    const answer = await join(node.url, code, who);
    if (answer.status !== 'waiting') throw new Error(`expected to wait, got ${answer.status}`);
  });
  return code;
}

/** Runs `request` while polling the node's /healthz; the request's time and the slowest poll, in ms. */
async function timed(node: ServerNode, request: () => Promise<unknown>): Promise<{ tookMs: number; longestPollMs: number }> {
  let longestPollMs = 0;
  let running = true;
  const polling = (async () => {
    while (running) {
      const sentAt = performance.now();
      await fetch(`${node.url}/healthz`).then((response) => response.arrayBuffer());
      longestPollMs = Math.max(longestPollMs, performance.now() - sentAt);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const startedAt = performance.now();
  await request();
  const tookMs = performance.now() - startedAt;
  running = false;
  await polling;
  return { tookMs, longestPollMs };
}

runOnCluster(1, { MAX_PARTICIPANTS_LIMIT: String(Math.max(1000, waiting)) }, async (cluster) => {
  const node = cluster.nodes[0]!;
  const host = await registerHost(node.url);
  for (const action of ['admit-all', 'reject-all'] as const) {
    const code = await fullLobby(node, host, waiting);
    const { tookMs, longestPollMs } = await timed(node, () => call(node.url, 'POST', `/meetings/${code}/${action}`, host.token));
    console.log(`${action} of ${waiting} waiting: ${tookMs.toFixed(0)} ms; longest /healthz meanwhile ${longestPollMs.toFixed(0)} ms`);
  }
});
