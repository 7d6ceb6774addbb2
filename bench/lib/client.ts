import { io, type Socket } from 'socket.io-client';

/** A connected socket in the runner's own process, for latency runs where both ends share one clock. */
export async function connectedSocket(url: string, token?: string): Promise<Socket> {
  const socket = io(url, { auth: token ? { token } : {}, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** A connected socket attached to a room (`room:attach`). */
export async function attachedSocket(url: string, roomCode: string, token?: string): Promise<Socket> {
  const socket = await connectedSocket(url, token);
  const reply = (await socket.timeout(10_000).emitWithAck('room:attach', { room_code: roomCode })) as { ok: boolean; error?: { code: string } };
  if (!reply.ok) throw new Error(`room:attach: ${reply.error?.code}`);
  return socket;
}

/** Resolves with performance.now() at the first `event` whose payload passes `match`. */
export function nextEvent<T>(socket: Socket, event: string, match: (payload: T) => boolean = () => true, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (payload: T) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(performance.now());
    };
    socket.on(event, listener);
  });
}
