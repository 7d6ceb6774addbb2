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
 * plus a few commands; 200 events in a 2-second window (100/s, all of them at once if need be)
 * leaves room for a reconnecting client's buffered emits, and a socket past it is cut off (it
 * may reconnect). The window starts at the socket's first event after the last one ended (a
 * fixed window, as rate-limiter-flexible's memory limiter keeps one).
 *
 * Counted in the socket's own closure, synchronously: this runs before every `audio:level`,
 * the hot path, where a limiter answering with a promise cost an allocation and a microtask per
 * event (docs/performance.md, row (b1)).
 */
const eventsPerWindow = 200;
const windowMs = 2_000;

/**
 * Returns what runs before every handler of a socket: the flood limit, then the event-name check.
 */
export function createSocketGuard(logger: Logger): (socket: MeetingSocket) => void {
  return (socket) => {
    let cut = false;
    let windowEndsAt = -Infinity;
    let events = 0;
    socket.use(([event, ...args], next) => {
      // Packets already read in the same batch still come through after the cut: dropped quietly.
      if (cut) return;
      const at = performance.now();
      if (at >= windowEndsAt) {
        windowEndsAt = at + windowMs;
        events = 0;
      }
      events += 1;
      if (events > eventsPerWindow) {
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
  };
}
