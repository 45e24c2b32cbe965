import { Router } from 'express';
import { sql } from 'kysely';

import type { ApiDeps } from '../deps.ts';

const PROBE_TIMEOUT_MS = 1_000;

async function probe(check: () => Promise<unknown>): Promise<'ok' | 'unavailable'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch {
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}

/** `/healthz` (alive) and `/readyz` (PostgreSQL and Redis answer). */
export function healthRouter(deps: ApiDeps): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const [postgres, redis] = await Promise.all([probe(() => sql`SELECT 1`.execute(deps.db)), probe(() => deps.pingRedis())]);
    const ready = postgres === 'ok' && redis === 'ok';
    if (!ready) res.setHeader('Retry-After', '2');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks: { postgres, redis } });
  });

  return router;
}
