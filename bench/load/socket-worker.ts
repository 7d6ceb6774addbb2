import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { io, type Socket } from 'socket.io-client';
import { serveParent } from '../lib/processes';

/**
 * A load process of socket.io-client connections, driven by the bench runner over IPC. The same
 * calls drive our server and the bare Socket.IO baseline, which speaks the same event names.
 */
interface Client {
  socket: Socket;
  roomCode: string;
}

const clients: Client[] = [];

async function connect(url: string, token: string | undefined, roomCode: string): Promise<Client> {
  const socket = io(url, { auth: token ? { token } : {}, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 60_000 });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const reply = (await socket.timeout(60_000).emitWithAck('room:attach', { room_code: roomCode })) as { ok: boolean; error?: { code: string } };
  if (!reply.ok) throw new Error(`room:attach: ${reply.error?.code}`);
  return { socket, roomCode };
}

serveParent(
  {},
  {
    /** Opens one attached socket per entry, `concurrency` handshakes at a time. */
    async open(args: { url: string; clients: { token?: string; roomCode: string }[]; concurrency: number }) {
      let next = 0;
      const worker = async () => {
        while (next < args.clients.length) {
          const { token, roomCode } = args.clients[next++]!;
          clients.push(await connect(args.url, token, roomCode));
        }
      };
      await Promise.all(Array.from({ length: args.concurrency }, worker));
      return clients.length;
    },

    /**
     * Sends `audio:level` from every socket in turn at `rate` events/s in all, in small steps
     * (every 2 ms) so the load is smooth rather than one burst per period. Returns what was sent.
     */
    async levels(args: { rate: number; ms: number; level: number }) {
      const started = performance.now();
      let sent = 0;
      let cursor = 0;
      while (performance.now() - started < args.ms) {
        const due = Math.floor(((performance.now() - started) / 1000) * args.rate);
        for (; sent < due; sent++) {
          const client = clients[cursor]!;
          cursor = (cursor + 1) % clients.length;
          client.socket.emit('audio:level', { room_code: client.roomCode, level: args.level });
        }
        await sleep(2);
      }
      return { sent, seconds: (performance.now() - started) / 1000, connected: clients.filter((c) => c.socket.connected).length };
    },

    connected: () => clients.filter((c) => c.socket.connected).length,

    close() {
      for (const { socket } of clients.splice(0)) socket.close();
    },
  },
);
