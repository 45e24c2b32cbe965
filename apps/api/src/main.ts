// API role: `npm run start:api`.
import { apiEnv, loadEnvOrExit, resolveAdminKey } from '@booking/config';
import { openDatabase, stopOnSignals } from '@booking/lifecycle';
import { MetricsRegistry, collectProcessMetrics, createLogger } from '@booking/observability';

import { apiOptionsFromEnv } from './options.ts';
import { startApi } from './server.ts';

const env = loadEnvOrExit(apiEnv, process.env);
const logger = createLogger({ level: env.LOG_LEVEL, service: 'booking-api' });
const admin = resolveAdminKey(env.ADMIN_API_KEY);
if (admin.generated) process.stdout.write(`ADMIN_API_KEY not set; generated one for this process: ${admin.key}\n`);

const { db, pool } = await openDatabase({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, applicationName: 'booking-api' });
const registry = new MetricsRegistry();
collectProcessMetrics(registry);

const api = await startApi(apiOptionsFromEnv(env, { db, pool, logger, registry, adminKey: admin.key }));

stopOnSignals(logger, async () => {
  await api.close();
  await db.destroy();
});
