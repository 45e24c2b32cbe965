// Worker role: `npm run start:worker`.
import { loadEnvOrExit, workerEnv } from '@booking/config';
import { createDb, ensureDatabase, migrateToLatest } from '@booking/db';
import { MetricsRegistry, collectProcessMetrics, createLogger, serveMetrics } from '@booking/observability';

import { startWorker } from './worker.ts';

const env = loadEnvOrExit(workerEnv, process.env);
const logger = createLogger({ level: env.LOG_LEVEL, service: 'booking-worker' });

await ensureDatabase(env.DATABASE_URL);
const { db, pool } = createDb({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, applicationName: 'booking-worker' });
await migrateToLatest(db);
const registry = new MetricsRegistry();
collectProcessMetrics(registry);

const worker = await startWorker({
  db,
  redis: { url: env.REDIS_URL, cluster: env.REDIS_CLUSTER },
  prefix: env.QUEUE_PREFIX,
  logger,
  maxEvents: env.WORKER_CONCURRENCY_EVENTS,
  lockMs: env.WORKER_LOCK_MS,
  refreshMs: env.EVENT_REFRESH_MS,
  shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
  registry,
  pool,
});
const metricsServer = await serveMetrics(registry, env.METRICS_PORT);
logger.info('worker metrics listening', { port: metricsServer.port });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  await worker.close();
  await metricsServer.close();
  await db.destroy();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
