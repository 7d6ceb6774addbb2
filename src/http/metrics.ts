import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one app instance (its own registry: no global state). */
export interface Metrics {
  registry: Registry;
  /** Times every request, labelled by route pattern (never the raw path, which would explode cardinality). */
  observeRequests: RequestHandler;
  /** Mounted before a router: records its prefix, which Express forgets once an error leaves the router. */
  routePrefix(prefix: string): RequestHandler;
}

/** Creates the registry with Node's default metrics and the HTTP request histogram. */
export function createMetrics(labels: { node: string }): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const observeRequests: RequestHandler = (req, res, next) => {
    const stop = requestDuration.startTimer({ method: req.method });
    res.once('finish', () => {
      const route = req.route ? `${String(res.locals.routePrefix ?? '')}${String(req.route.path)}` : 'unmatched';
      stop({ route, status: String(res.statusCode) });
    });
    next();
  };
  const routePrefix =
    (prefix: string): RequestHandler =>
    (_req, res, next) => {
      res.locals.routePrefix = prefix;
      next();
    };
  return { registry, observeRequests, routePrefix };
}
