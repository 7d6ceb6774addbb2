import { TokenBucket } from 'limiter';
import type { Logger } from 'pino';
import type { ClientToServerEvents } from '../contract/events';
import { AppError } from '../errors/app-error';
import { toEventError } from './acks';
import type { MeetingSocket } from './socket-server';

/** The events a client may send; anything else is answered VALIDATION_FAILED and dropped. */
const clientEvents: Record<keyof ClientToServerEvents, true> = {
  'room:attach': true,
  'room:detach': true,
  'audio:level': true,
  'hardware:status': true,
  'lobby:cancel': true,
  'rtc:signal': true,
  'media:state': true,
  'rtc:ice_servers': true,
};

/**
 * Per-socket flood limit over every event. A client sends `audio:level` 10-20 times a second
 * plus a few commands; 100/s sustained with a burst of 200 leaves room for a reconnecting
 * client's buffered emits, and a socket past it is cut off (it may reconnect).
 */
const eventsPerSecond = 100;
const burst = 200;

/** Runs before every handler of the socket: the flood limit, then the event-name check. */
export function guardSocket(socket: MeetingSocket, logger: Logger): void {
  const bucket = new TokenBucket({ bucketSize: burst, tokensPerInterval: eventsPerSecond, interval: 'second' });
  bucket.content = burst;
  let cut = false;
  socket.use(([event, ...args], next) => {
    // Packets already read in the same batch still come through after the cut: drop them quietly.
    if (cut) return;
    if (!bucket.tryRemoveTokens(1)) {
      cut = true;
      logger.warn({ user_id: socket.data.userId, socket_id: socket.id }, 'socket exceeded the event rate limit; disconnected');
      socket.disconnect(true);
      return;
    }
    if (!Object.hasOwn(clientEvents, event)) {
      const ack = args.at(-1);
      const name = String(event).slice(0, 64);
      if (typeof ack === 'function') ack({ ok: false, error: toEventError(new AppError('VALIDATION_FAILED', `Unknown event "${name}"`), logger) });
      return;
    }
    next();
  });
}
