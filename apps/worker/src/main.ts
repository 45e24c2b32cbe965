// Worker role: `npm run start:worker`.
import { loadEnvOrExit, workerEnv } from '@booking/config';
import { openDatabase, stopOnSignals } from '@booking/lifecycle';
import { MetricsRegistry, collectProcessMetrics, createLogger, serveMetrics } from '@booking/observability';

import { workerOptionsFromEnv } from './options.ts';
import { startWorker } from './worker.ts';

const env = loadEnvOrExit(workerEnv, process.env);
const logger = createLogger({ level: env.LOG_LEVEL, service: 'booking-worker' });

const { db, pool } = await openDatabase({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, applicationName: 'booking-worker' });
const registry = new MetricsRegistry();
collectProcessMetrics(registry);

const worker = await startWorker(workerOptionsFromEnv(env, { db, pool, logger, registry }));
const metricsServer = await serveMetrics(registry, env.METRICS_PORT);
logger.info('worker metrics listening', { port: metricsServer.port });

stopOnSignals(logger, async () => {
  await worker.close();
  await metricsServer.close();
  await db.destroy();
});
