// `npm run migrate`: creates the database if missing, applies pending migrations and the SQL function
// files that changed, and exits.
import { commonEnv, loadEnvOrExit } from '@booking/config';

import { createDb, ensureDatabase } from './connection.ts';
import { migrate } from './migrator.ts';

const env = loadEnvOrExit(commonEnv, process.env);
await ensureDatabase(env.DATABASE_URL);
const { db } = createDb({ url: env.DATABASE_URL, poolSize: 1, applicationName: 'booking-migrate' });
try {
  const { migrations, functions } = await migrate(db);
  for (const r of migrations) process.stdout.write(`${r.status.toLowerCase()}: ${r.migrationName}\n`);
  for (const name of functions) process.stdout.write(`applied: sql/functions/${name}.sql\n`);
  if (migrations.length === 0 && functions.length === 0) process.stdout.write('database is up to date\n');
} finally {
  await db.destroy();
}
