import type { Db } from '@booking/db';
import type pg from 'pg';

/**
 * Creates the database if missing, applies pending migrations (and the SQL function files that
 * changed) and returns a pool on it; with `migrate: false` (MIGRATE_ON_START=false) only the pool.
 */
export async function openDatabase(options: {
  url: string;
  poolSize: number;
  applicationName: string;
  migrate?: boolean;
}): Promise<{ db: Db; pool: pg.Pool }> {
  // Loaded here, not when this package is: an entry point imports the package first thing, to be
  // supervised before the heavier modules load.
  const { createDb, ensureDatabase, migrateToLatest } = await import('@booking/db');
  const { migrate = true, ...dbOptions } = options;
  if (!migrate) return createDb(dbOptions);
  await ensureDatabase(options.url);
  const opened = createDb(dbOptions);
  await migrateToLatest(opened.db);
  return opened;
}
