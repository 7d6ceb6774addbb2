import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

declare global {
  namespace Express {
    interface Request {
      /** A sane incoming `X-Request-Id`, or a new UUID; echoed in the response's `X-Request-Id`. */
      id: string;
      /** The logger of this request: every line carries its id, method and URL. */
      log: Logger;
    }
  }
}

const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Request ids and the request log. Each request gets an id (a load balancer's sane one is kept)
 * and one line when it ends: `request completed` at info, or `request errored` at error for a
 * 5xx or a failed response, with the method, URL, status and timing only; headers and bodies
 * never reach the logs. The request's logger is built only when a line is written, so a level
 * that drops request lines costs next to nothing per request.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    req.id = id;
    let requestLogger: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      get: () => (requestLogger ??= logger.child({ req: { id, method: req.method, url: req.originalUrl, remote_address: req.socket.remoteAddress } })),
    });
    const startedAt = Date.now();
    const ended = (error?: Error) => {
      res.off('finish', ended);
      res.off('close', ended);
      res.off('error', ended);
      const failed = error !== undefined || res.statusCode >= 500;
      const level = failed ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const fields = { res: { status: res.statusCode }, responseTime: Date.now() - startedAt };
      if (failed) req.log.error({ ...fields, err: error ?? new Error(`failed with status code ${res.statusCode}`) }, 'request errored');
      else req.log.info(fields, 'request completed');
    };
    res.on('finish', ended);
    res.on('close', ended);
    res.on('error', ended);
    next();
  };
}
