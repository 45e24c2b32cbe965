// Single-process server: `npm start` runs the API and a worker together, after applying migrations
// (unless MIGRATE_ON_START=false).
import { openDatabase, superviseProcess } from '@booking/lifecycle';

// First of all: loading the service's modules takes a while (seconds on a busy machine), and a
// SIGTERM meanwhile must stop the process cleanly too. Everything else is loaded after this.
const supervisor = superviseProcess();

const { apiOptionsFromEnv, startApi } = await import('@booking/api');
const { loadEnvOrExit, resolveAdminKey, rolePoolSizes, serverStartEnv } = await import('@booking/config');
const { MetricsRegistry, collectProcessMetrics, createLogger } = await import('@booking/observability');
const { startWorker, workerOptionsFromEnv } = await import('@booking/worker');

const env = loadEnvOrExit(serverStartEnv, process.env);
const logger = createLogger({ level: env.LOG_LEVEL, service: 'booking' });
const admin = resolveAdminKey(env.ADMIN_API_KEY);
if (admin.generated) process.stdout.write(`ADMIN_API_KEY not set; generated one for this process: ${admin.key}\n`);

await supervisor.run(logger, async () => {
  // A pool for each role, sharing DATABASE_POOL_SIZE: with one, a sale's long-poll reads queued ahead
  // of the worker's decisions and starved them.
  const sizes = rolePoolSizes(env.DATABASE_POOL_SIZE);
  const { db, pool } = await openDatabase({
    url: env.DATABASE_URL,
    poolSize: sizes.api,
    applicationName: 'booking-api',
    migrate: env.MIGRATE_ON_START,
  });
  const workerDb = await openDatabase({
    url: env.DATABASE_URL,
    poolSize: sizes.worker,
    applicationName: 'booking-worker',
    migrate: false,
  }).catch(async (err: unknown) => {
    await db.destroy();
    throw err;
  });
  // One registry: the API's /metrics covers both roles.
  const registry = new MetricsRegistry();
  collectProcessMetrics(registry);
  const worker = await startWorker(workerOptionsFromEnv(env, { db: workerDb.db, pool: workerDb.pool, logger, registry }));
  const api = await startApi(apiOptionsFromEnv(env, { db, pool, logger, registry, adminKey: admin.key }));
  return async () => {
    await api.close();
    await worker.close();
    await Promise.all([db.destroy(), workerDb.db.destroy()]);
  };
});
