import { databaseUrl, newTestDatabaseName, withAdmin } from '@booking/test-support';
import { afterAll, describe, expect, it } from 'vitest';

import { openDatabase } from '../src/index.ts';

const created: string[] = [];

async function tables(name: string): Promise<string[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl(name) });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    );
    return rows.map((r) => r.t);
  } finally {
    await client.end();
  }
}

async function exists(name: string): Promise<boolean> {
  return withAdmin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}

describe('openDatabase', () => {
  afterAll(async () => {
    for (const name of created) await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  });

  it('creates and migrates the database by default, and touches neither with migrate: false', async () => {
    const name = newTestDatabaseName('db');
    created.push(name);
    const options = { url: databaseUrl(name), poolSize: 1, applicationName: 'booking-test' };

    // MIGRATE_ON_START=false: not even created; the first query fails instead.
    const off = await openDatabase({ ...options, migrate: false });
    await expect(off.pool.query('SELECT 1')).rejects.toThrow(/does not exist/);
    await off.db.destroy();
    expect(await exists(name)).toBe(false);

    await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
    const unmigrated = await openDatabase({ ...options, migrate: false });
    expect((await unmigrated.pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
    await unmigrated.db.destroy();
    expect(await tables(name)).toEqual([]);

    const on = await openDatabase(options);
    await on.db.destroy();
    expect(await tables(name)).toEqual(
      expect.arrayContaining(['booking_requests', 'bookings', 'events', 'kysely_migration', 'repeatable_migrations']),
    );
  });
});
