// Vitest global setup: one migrated template database per run; every test file copies it. Names
// are unique per run so that concurrent runs on one server do not disturb each other.
import { createDb, migrateToLatest } from '@booking/db';

import { withAdmin as admin } from './database.ts';
import { databaseUrl, newTestDatabaseName, TEST_DATABASE_PREFIX } from './env.ts';

/** Databases of runs older than this were left by a killed run. */
const STALE_AFTER_SECONDS = 6 * 3600;

export default async function setup(): Promise<() => Promise<void>> {
  const template = newTestDatabaseName('tpl');
  await admin(async (client) => {
    const all = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [
      TEST_DATABASE_PREFIX,
    ]);
    const cutoff = Date.now() / 1000 - STALE_AFTER_SECONDS;
    for (const { datname } of all.rows) {
      const created = Number(datname.slice(TEST_DATABASE_PREFIX.length).split('_')[0]);
      if (!(created >= cutoff)) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await client.query(`CREATE DATABASE "${template}"`);
  });
  const { db } = createDb({ url: databaseUrl(template), poolSize: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  process.env.BOOKING_TEST_TEMPLATE_DB = template;
  return async () => {
    await admin((client) => client.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`));
  };
}
