import { Router } from 'express';
import type { RedisClient } from '../config/redis-target';
import swaggerUi from 'swagger-ui-express';
import type { Orm } from '../persistence/orm';
import type { Metrics } from './metrics';

const checkTimeoutMs = 1000;

/**
 * Operations endpoints: `/healthz` (the process answers), `/readyz` (PostgreSQL and, in cluster
 * mode, Redis answer), `/metrics` (Prometheus), `/api/openapi.json` and `/api/docs`.
 */
export function opsRoutes(deps: { orm: Orm; redis: RedisClient | undefined; metrics: Metrics; openApiDocument: object }): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, 'ok' | 'down'> = { postgres: await check(() => deps.orm.em.getConnection().execute('select 1')) };
    if (deps.redis) {
      const redis = deps.redis;
      // While ioredis reconnects it queues commands; a client that is not ready is down.
      checks.redis = redis.status === 'ready' ? await check(() => redis.ping()) : 'down';
    }
    const ready = Object.values(checks).every((state) => state === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });

  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  router.get('/api/openapi.json', (_req, res) => {
    res.json(deps.openApiDocument);
  });
  router.use(
    '/api/docs',
    swaggerUi.serveFiles(undefined, { swaggerUrl: '/api/openapi.json' }),
    swaggerUi.setup(undefined, { swaggerUrl: '/api/openapi.json' }),
  );

  return router;
}

async function check(probe: () => Promise<unknown>): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), checkTimeoutMs);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
