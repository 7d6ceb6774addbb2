import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { freePort } from '../../test/support/ports';
import { serveParent } from '../lib/processes';
import { eventLoopDelay } from '../lib/stats';

/**
 * The baseline Socket.IO server: Socket.IO's defaults, no auth, no state. It speaks just enough
 * of our event names for the same load to drive it:
 * - `room:attach {room_code}` joins the channel and acks `{ok: true}`;
 * - `audio:level` is counted and dropped;
 * - `relay {room_code, event, payload}` emits `event` to the channel: with BASELINE_REDIS_URL
 *   set, through @socket.io/redis-adapter (our default adapter) to the other baseline nodes.
 * It reports its event-loop delay p99 (as prom-client measures ours) and levels received.
 */
async function main(): Promise<void> {
  const httpServer = createServer();
  const io = new Server(httpServer);
  const redisUrl = process.env.BASELINE_REDIS_URL;
  if (redisUrl) {
    const pub = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const sub = pub.duplicate();
    io.adapter(createAdapter(pub, sub, { key: `${process.env.BASELINE_PREFIX ?? 'baseline:'}socket.io` }));
  }
  let levels = 0;
  io.on('connection', (socket) => {
    socket.on('room:attach', (payload: { room_code?: unknown }, ack?: (reply: unknown) => void) => {
      if (typeof payload?.room_code === 'string') void socket.join(payload.room_code);
      ack?.({ ok: true, data: {} });
    });
    socket.on('audio:level', (payload: { level?: unknown }) => {
      if (typeof payload?.level === 'number') levels += 1;
    });
    socket.on('relay', (payload: { room_code: string; event: string; payload: unknown }) => {
      io.to(payload.room_code).emit(payload.event, payload.payload);
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => httpServer.listen(port, '127.0.0.1', resolve));
  const delay = eventLoopDelay();
  serveParent(
    { url: `http://127.0.0.1:${port}` },
    {
      /** Event-loop delay p99 since the last call, and levels received so far. */
      stats: () => {
        const stats = { eldP99Ms: delay.p99Ms(), levels };
        delay.reset();
        return stats;
      },
    },
  );
}

void main();
