import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Orm } from '../persistence/orm';

const checkTimeoutMs = 1000;

/** `/healthz` (the process answers) and `/readyz` (PostgreSQL and, in cluster mode, Redis answer). */
export function healthRoutes(deps: { orm: Orm; redis: Redis | undefined }): Router {
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
