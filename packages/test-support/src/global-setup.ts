// Vitest global setup: one migrated template database per run; every test file copies it.
import { createDb, migrateToLatest } from '@booking/db';
import pg from 'pg';

import { TEMPLATE_DATABASE, TEST_DATABASE_PREFIX, databaseUrl } from './env.ts';

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  await admin(async (client) => {
    // Leftovers of an interrupted earlier run.
    const stale = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2`,
      [`${TEST_DATABASE_PREFIX}%`, TEMPLATE_DATABASE],
    );
    for (const { datname } of stale.rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${TEMPLATE_DATABASE}"`);
  });
  const { db } = createDb({ url: databaseUrl(TEMPLATE_DATABASE), poolSize: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  return async () => {
    await admin((client) => client.query(`DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`));
  };
}
