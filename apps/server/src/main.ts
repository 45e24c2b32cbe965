// Single-process server: `npm start` runs the API and a worker together, after applying migrations.
import { apiOptionsFromEnv, startApi } from '@booking/api';
import { loadEnvOrExit, resolveAdminKey, serverEnv } from '@booking/config';
import { openDatabase, stopOnSignals } from '@booking/lifecycle';
import { MetricsRegistry, collectProcessMetrics, createLogger } from '@booking/observability';
import { startWorker, workerOptionsFromEnv } from '@booking/worker';

const env = loadEnvOrExit(serverEnv, process.env);
const logger = createLogger({ level: env.LOG_LEVEL, service: 'booking' });
const admin = resolveAdminKey(env.ADMIN_API_KEY);
if (admin.generated) process.stdout.write(`ADMIN_API_KEY not set; generated one for this process: ${admin.key}\n`);

const { db, pool } = await openDatabase({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, applicationName: 'booking' });
// One registry: the API's /metrics covers both roles.
const registry = new MetricsRegistry();
collectProcessMetrics(registry);

const worker = await startWorker(workerOptionsFromEnv(env, { db, pool, logger, registry }));
const api = await startApi(apiOptionsFromEnv(env, { db, pool, logger, registry, adminKey: admin.key }));

stopOnSignals(logger, async () => {
  await api.close();
  await worker.close();
  await db.destroy();
});
