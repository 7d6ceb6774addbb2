import { Server, type ExtendedError, type ServerOptions, type Socket } from 'socket.io';
import type { TokenService } from '../auth/tokens';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '../contract/events';
import { AppError } from '../errors/app-error';

export type MeetingServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type MeetingSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Every client payload is a few dozen bytes; a frame near this size is not one of ours. */
const maxPayloadBytes = 16 * 1024;

export interface SocketServerOptions {
  /** The cluster's adapter (src/cluster/socket-adapter.ts); in-memory when absent. */
  adapter?: ServerOptions['adapter'];
  /** Whether the adapter can replay what a briefly disconnected client missed. */
  recovers: boolean;
}

/**
 * How long a dropped client's session is kept: reconnecting within it, the client keeps its
 * socket id and rooms and receives the events it missed (connection-state recovery).
 */
export const recoveryWindowMs = 2 * 60_000;

/**
 * The Socket.IO server of README "Realtime", not yet attached to an HTTP server (the composition root
 * attaches it once the HTTP app exists). The handshake must carry `auth: {token}`, checked by the
 * same token service as REST's bearer tokens; otherwise the client's `connect_error` says
 * `UNAUTHENTICATED`.
 */
export function createSocketServer(tokens: TokenService, options: SocketServerOptions): MeetingServer {
  const io: MeetingServer = new Server({
    serveClient: false,
    maxHttpBufferSize: maxPayloadBytes,
    ...(options.adapter ? { adapter: options.adapter } : {}),
    // A recovered socket skips the handshake check: it proved its token when it first connected.
    ...(options.recovers ? { connectionStateRecovery: { maxDisconnectionDuration: recoveryWindowMs, skipMiddlewares: true } } : {}),
  });
  io.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const token = auth?.token;
    try {
      if (typeof token !== 'string' || token === '') throw new AppError('UNAUTHENTICATED', 'The handshake needs auth: {token}');
      const principal = tokens.verify(token);
      socket.data.userId = principal.userId;
      socket.data.isGuest = principal.isGuest;
      // The socket is its principal from here on (an expiring token does not cut it off): it
      // does not keep the token, a few hundred bytes per connection and a credential.
      delete auth!.token;
      next();
    } catch (error) {
      const refusal: ExtendedError = new Error('UNAUTHENTICATED');
      refusal.data = { code: 'UNAUTHENTICATED', message: error instanceof AppError ? error.message : 'A valid token is required' };
      next(refusal);
    }
  });
  return io;
}
