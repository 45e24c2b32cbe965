// `npm run migrate`: creates the database if missing, applies pending migrations and exits.
import { commonEnv, loadEnvOrExit } from '@booking/config';

import { createDb, ensureDatabase } from './connection.ts';
import { migrateToLatest } from './migrator.ts';

const env = loadEnvOrExit(commonEnv, process.env);
await ensureDatabase(env.DATABASE_URL);
const { db } = createDb({ url: env.DATABASE_URL, poolSize: 1, applicationName: 'booking-migrate' });
try {
  const results = await migrateToLatest(db);
  for (const r of results) process.stdout.write(`${r.status.toLowerCase()}: ${r.migrationName}\n`);
  if (results.length === 0) process.stdout.write('database is up to date\n');
} finally {
  await db.destroy();
}
