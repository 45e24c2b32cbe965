// Single-process server: `npm start` runs the API and a worker together, after applying migrations.
import { loadEnvOrExit, resolveAdminKey, serverEnv } from '@booking/config';
import { startApi } from '@booking/api';
import { createDb, ensureDatabase, migrateToLatest } from '@booking/db';
import { MetricsRegistry, collectProcessMetrics, createLogger } from '@booking/observability';
import { startWorker } from '@booking/worker';

const env = loadEnvOrExit(serverEnv, process.env);
const logger = createLogger({ level: env.LOG_LEVEL, service: 'booking' });
const admin = resolveAdminKey(env.ADMIN_API_KEY);
if (admin.generated) process.stdout.write(`ADMIN_API_KEY not set; generated one for this process: ${admin.key}\n`);

await ensureDatabase(env.DATABASE_URL);
const { db, pool } = createDb({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, applicationName: 'booking' });
await migrateToLatest(db);
const registry = new MetricsRegistry();
collectProcessMetrics(registry);

const redis = { url: env.REDIS_URL, cluster: env.REDIS_CLUSTER };
const worker = await startWorker({
  db,
  redis,
  prefix: env.QUEUE_PREFIX,
  logger,
  maxEvents: env.WORKER_CONCURRENCY_EVENTS,
  lockMs: env.WORKER_LOCK_MS,
  refreshMs: env.EVENT_REFRESH_MS,
  shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
  registry,
  pool,
});
const api = await startApi({
  db,
  redis,
  prefix: env.QUEUE_PREFIX,
  logger,
  adminKey: admin.key,
  port: env.PORT,
  bodyLimitBytes: env.BODY_LIMIT_BYTES,
  shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
  registry,
  pool,
  idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
  rateLimit: { points: env.RATE_LIMIT_POINTS, windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS },
  admissionGate: env.ADMISSION_GATE,
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  await api.close();
  await worker.close();
  await db.destroy();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
