import { Server, type ExtendedError, type ServerOptions, type Socket } from 'socket.io';
import { principalOf, type Accounts } from '../auth/accounts';
import type { TokenService } from '../auth/tokens';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '../contract/events';
import { AppError } from '../errors/app-error';
import { toAppError } from '../errors/to-app-error';

export type MeetingServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type MeetingSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * Every client payload is a few dozen bytes; a frame near this size is not one of ours, and the
 * transport closes. It is larger than any field may be, so that an oversized handshake token
 * still reaches the check below and gets a `connect_error` rather than a closed transport.
 */
const maxFrameBytes = 64 * 1024;
/** A handshake token's limit, as for REST's 16 kB bodies; our tokens are a few hundred bytes. */
const maxTokenBytes = 16 * 1024;

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
 * The Socket.IO server of docs/realtime.md, not yet attached to an HTTP server (the composition root
 * attaches it once the HTTP app exists). The handshake must carry `auth: {token}`, checked by the
 * same token service as REST's bearer tokens, for an account that still exists; otherwise the
 * client's `connect_error` says `UNAUTHENTICATED` (or `UNAVAILABLE` while PostgreSQL is down).
 */
export function createSocketServer(tokens: TokenService, accounts: Accounts, options: SocketServerOptions): MeetingServer {
  const io: MeetingServer = new Server({
    serveClient: false,
    maxHttpBufferSize: maxFrameBytes,
    ...(options.adapter ? { adapter: options.adapter } : {}),
    // A recovered socket skips the handshake check: it proved its token when it first connected.
    ...(options.recovers ? { connectionStateRecovery: { maxDisconnectionDuration: recoveryWindowMs, skipMiddlewares: true } } : {}),
  });

  async function authenticate(socket: MeetingSocket): Promise<void> {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const token = auth?.token;
    if (typeof token !== 'string' || token === '') throw new AppError('UNAUTHENTICATED', 'The handshake needs auth: {token}');
    if (Buffer.byteLength(token) > maxTokenBytes) throw new AppError('UNAUTHENTICATED', `The token is over ${maxTokenBytes / 1024} kB`);
    const principal = await principalOf(tokens.verify(token), accounts);
    socket.data.userId = principal.userId;
    socket.data.isGuest = principal.isGuest;
    // The socket is its principal from here on (an expiring token does not cut it off): it
    // does not keep the token, a few hundred bytes per connection and a credential.
    delete auth!.token;
  }

  io.use((socket, next) => {
    authenticate(socket).then(
      () => next(),
      (error: unknown) => {
        const { appError } = toAppError(error);
        const refusal: ExtendedError = new Error(appError.code);
        refusal.data = { code: appError.code, message: appError.message };
        next(refusal);
      },
    );
  });
  return io;
}
