// Worker role: `npm run start:worker`.
import { openDatabase, superviseProcess } from '@booking/lifecycle';

// First of all: loading the service's modules takes a while (seconds on a busy machine), and a
// SIGTERM meanwhile must stop the process cleanly too. Everything else is loaded after this.
const supervisor = superviseProcess();

const { loadEnvOrExit, workerEnv } = await import('@booking/config');
const { MetricsRegistry, collectProcessMetrics, createLogger, serveMetrics } = await import('@booking/observability');
const { workerOptionsFromEnv } = await import('./options.ts');
const { startWorker } = await import('./worker.ts');

const env = loadEnvOrExit(workerEnv, process.env);
const logger = createLogger({ level: env.LOG_LEVEL, service: 'booking-worker' });

await supervisor.run(logger, async () => {
  const { db, pool } = await openDatabase({
    url: env.DATABASE_URL,
    poolSize: env.DATABASE_POOL_SIZE,
    applicationName: 'booking-worker',
    migrate: env.MIGRATE_ON_START,
  });
  const registry = new MetricsRegistry();
  collectProcessMetrics(registry);
  const worker = await startWorker(workerOptionsFromEnv(env, { db, pool, logger, registry }));
  const metricsServer = await serveMetrics(registry, env.METRICS_PORT);
  logger.info('worker metrics listening', { port: metricsServer.port });
  return async () => {
    await worker.close();
    await metricsServer.close();
    await db.destroy();
  };
});
