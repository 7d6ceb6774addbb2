import { Server, type ExtendedError, type Socket } from 'socket.io';
import type { TokenService } from '../auth/tokens';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '../contract/events';
import { AppError } from '../errors/app-error';

export type MeetingServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type MeetingSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Every client payload is a few dozen bytes; a frame near this size is not one of ours. */
const maxPayloadBytes = 16 * 1024;

/**
 * The Socket.IO server of DESIGN.md §7, not yet attached to an HTTP server (the composition root
 * attaches it once the HTTP app exists). The handshake must carry `auth: {token}`, checked by the
 * same token service as REST's bearer tokens; otherwise the client's `connect_error` says
 * `UNAUTHENTICATED`.
 */
export function createSocketServer(tokens: TokenService): MeetingServer {
  const io: MeetingServer = new Server({ serveClient: false, maxHttpBufferSize: maxPayloadBytes });
  io.use((socket, next) => {
    const token: unknown = socket.handshake.auth?.token;
    try {
      if (typeof token !== 'string' || token === '') throw new AppError('UNAUTHENTICATED', 'The handshake needs auth: {token}');
      const principal = tokens.verify(token);
      socket.data.userId = principal.userId;
      socket.data.isGuest = principal.isGuest;
      next();
    } catch (error) {
      const refusal: ExtendedError = new Error('UNAUTHENTICATED');
      refusal.data = { code: 'UNAUTHENTICATED', message: error instanceof AppError ? error.message : 'A valid token is required' };
      next(refusal);
    }
  });
  return io;
}
