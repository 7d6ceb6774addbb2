import { io as connectClient, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/contract/events';
import type { Endpoint } from './server';

/** A real socket.io-client socket, typed with the contract's event map. */
export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type ServerEvent = keyof ServerToClientEvents;
type PayloadOf<E extends ServerEvent> = Parameters<ServerToClientEvents[E]>[0];

const open = new Set<ClientSocket>();

/** Connects to the server as the holder of `token`; resolves once connected, rejects with the connect_error. */
export async function connectSocket(
  server: Pick<Endpoint, 'url'>,
  token: string | undefined,
  options: { transports?: ('websocket' | 'polling')[]; reconnection?: boolean } = {},
): Promise<ClientSocket> {
  const socket: ClientSocket = connectClient(server.url, {
    auth: token === undefined ? {} : { token },
    transports: options.transports ?? ['websocket'],
    reconnection: options.reconnection ?? false,
    forceNew: true,
  });
  open.add(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** Closes every socket the test file opened (call in afterEach/afterAll). */
export function closeSockets(): void {
  for (const socket of open) socket.close();
  open.clear();
}

/** Everything a socket receives of one event, from now on, in order. */
export function record<E extends ServerEvent>(socket: ClientSocket, event: E): PayloadOf<E>[] {
  const seen: PayloadOf<E>[] = [];
  socket.on(event as ServerEvent, ((payload: PayloadOf<E>) => seen.push(payload)) as never);
  return seen;
}

/** The next `event` the socket receives (matching `filter`), or a rejection after `timeoutMs`. */
export function nextEvent<E extends ServerEvent>(
  socket: ClientSocket,
  event: E,
  filter: (payload: PayloadOf<E>) => boolean = () => true,
  timeoutMs = 5000,
): Promise<PayloadOf<E>> {
  return new Promise((resolve, reject) => {
    const onEvent = ((payload: PayloadOf<E>) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      socket.off(event as ServerEvent, onEvent);
      resolve(payload);
    }) as never;
    const timer = setTimeout(() => {
      socket.off(event as ServerEvent, onEvent);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on(event as ServerEvent, onEvent);
  });
}

/** Emits an acked event and resolves with the ack's response. */
export function request(socket: ClientSocket, event: string, payload?: unknown, timeoutMs = 5000): Promise<any> {
  const args = payload === undefined ? [] : [payload];
  return (socket.timeout(timeoutMs) as any).emitWithAck(event, ...args);
}

/** Resolves after `ms`: to show that an event did NOT arrive, wait, then look at what was recorded. */
export const quietFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
