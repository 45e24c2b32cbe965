// API role: `npm run start:api`.
import { openDatabase, superviseProcess } from '@booking/lifecycle';

// First of all: loading the service's modules takes a while (seconds on a busy machine), and a
// SIGTERM meanwhile must stop the process cleanly too. Everything else is loaded after this.
const supervisor = superviseProcess();

const { apiStartEnv, loadEnvOrExit, resolveAdminKey } = await import('@booking/config');
const { MetricsRegistry, collectProcessMetrics, createLogger } = await import('@booking/observability');
const { apiOptionsFromEnv } = await import('./options.ts');
const { startApi } = await import('./server.ts');

const env = loadEnvOrExit(apiStartEnv, process.env);
const logger = createLogger({ level: env.LOG_LEVEL, service: 'booking-api' });
const admin = resolveAdminKey(env.ADMIN_API_KEY);
if (admin.generated) process.stdout.write(`ADMIN_API_KEY not set; generated one for this process: ${admin.key}\n`);

await supervisor.run(logger, async () => {
  const { db, pool } = await openDatabase({
    url: env.DATABASE_URL,
    poolSize: env.DATABASE_POOL_SIZE,
    applicationName: 'booking-api',
    migrate: env.MIGRATE_ON_START,
  });
  const registry = new MetricsRegistry();
  collectProcessMetrics(registry);
  const api = await startApi(apiOptionsFromEnv(env, { db, pool, logger, registry, adminKey: admin.key }));
  return async () => {
    await api.close();
    await db.destroy();
  };
});
