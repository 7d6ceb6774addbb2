import { performance } from 'node:perf_hooks';
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
};

/**
 * Per-socket flood limit over every event. A client sends `audio:level` 10-20 times a second
 * plus a few commands; 100/s sustained with a burst of 200 leaves room for a reconnecting
 * client's buffered emits, and a socket past it is cut off (it may reconnect).
 */
export const eventsPerSecond = 100;
export const burst = 200;
const intervalMs = 1000 / eventsPerSecond;
const toleranceMs = (burst - 1) * intervalMs;

/**
 * The token bucket in its scheduling form (GCRA), which needs one number per socket: events are
 * booked one `1000 / eventsPerSecond` ms apart, each at the later of now and the previous
 * booking, and an event whose booking would lie more than `burst - 1` intervals ahead of now is
 * over the limit (and books nothing). That is a bucket of `burst` tokens refilled at
 * `eventsPerSecond`, starting full: booked ahead by (burst - k) intervals means k tokens left.
 * Times are whole milliseconds, so the state stays a small integer. Returns the booking to keep
 * for the next event, or -1 when this event is over the limit.
 */
export function book(booked: number, now: number): number {
  const at = booked > now ? booked : now;
  return at - now > toleranceMs ? -1 : at + intervalMs;
}

/** Runs before every handler of the socket: the flood limit, then the event-name check. */
export function guardSocket(socket: MeetingSocket, logger: Logger): void {
  let booked = 0;
  socket.use((packet, next) => {
    // Packets already read in the same batch still come through after the cut: drop them quietly.
    if (booked < 0) return;
    booked = book(booked, Math.floor(performance.now()));
    if (booked < 0) {
      logger.warn({ user_id: socket.data.userId, socket_id: socket.id }, 'socket exceeded the event rate limit; disconnected');
      socket.disconnect(true);
      return;
    }
    const event = packet[0];
    if (!Object.hasOwn(clientEvents, event)) {
      const ack: unknown = packet[packet.length - 1];
      const name = String(event).slice(0, 64);
      if (typeof ack === 'function') ack({ ok: false, error: toEventError(new AppError('VALIDATION_FAILED', `Unknown event "${name}"`), logger) });
      return;
    }
    next();
  });
}
