import type { Logger } from 'pino';
import { RateLimiterMemory } from 'rate-limiter-flexible';
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
 * plus a few commands; 200 events in any 2-second window (100/s, all of them at once if need
 * be) leaves room for a reconnecting client's buffered emits, and a socket past it is cut off
 * (it may reconnect).
 */
const eventsPerSecond = 100;
const burst = 200;

/**
 * Returns what runs before every handler of a socket: the flood limit (one limiter for the
 * node's sockets, keyed by socket id), then the event-name check.
 */
export function createSocketGuard(logger: Logger): (socket: MeetingSocket) => void {
  const limiter = new RateLimiterMemory({ points: burst, duration: burst / eventsPerSecond });
  return (socket) => {
    let cut = false;
    socket.use(([event, ...args], next) => {
      limiter.consume(socket.id).then(
        () => {
          // Packets already read in the same batch still come through after the cut: dropped quietly.
          if (cut) return;
          if (!Object.hasOwn(clientEvents, event)) {
            const ack = args.at(-1);
            const name = String(event).slice(0, 64);
            if (typeof ack === 'function') ack({ ok: false, error: toEventError(new AppError('VALIDATION_FAILED', `Unknown event "${name}"`), logger) });
            return;
          }
          next();
        },
        () => {
          if (cut) return;
          cut = true;
          logger.warn({ user_id: socket.data.userId, socket_id: socket.id }, 'socket exceeded the event rate limit; disconnected');
          socket.disconnect(true);
        },
      );
    });
  };
}
