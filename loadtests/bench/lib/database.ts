// The benchmarks' own PostgreSQL database, and reading its transaction count from pg_stat_database.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { createDb, ensureDatabase, migrateToLatest } from '@booking/db';
import pg from 'pg';

/**
 * PG15+ backends flush their statistics when they go idle, but at most once a second; wait longer than
 * that before poking them (see `flushStatistics`).
 */
export const STATS_FLUSH_MS = 1_100;

export interface BenchDatabase {
  /** `booking_bench_<random>`. */
  dbName: string;
  /** The maintenance database of the same server: reading statistics there is not counted itself. */
  adminUrl: string;
  /** The bench database. */
  databaseUrl: string;
  /** Drops the database (forcibly: connections left open are ended). */
  drop(): Promise<void>;
}

/**
 * Creates `booking_bench_<random>` on the server of `baseUrl` (only its server is used) and applies
 * the service's migrations to it, then the SQL file named by BENCH_AFTER_MIGRATE_SQL, if any.
 */
export async function createBenchDatabase(baseUrl: string): Promise<BenchDatabase> {
  const dbName = `booking_bench_${randomBytes(6).toString('hex')}`;
  const target = new URL(baseUrl);
  target.pathname = `/${dbName}`;
  const admin = new URL(baseUrl);
  admin.pathname = '/postgres';
  const bench: BenchDatabase = {
    dbName,
    adminUrl: admin.toString(),
    databaseUrl: target.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: admin.toString() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
  await ensureDatabase(bench.databaseUrl);
  const { db } = createDb({ url: bench.databaseUrl, poolSize: 1, applicationName: 'booking-bench-migrate' });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  // An experiment on the schema without touching the product, e.g. another decide_booking_batch.
  const extra = process.env.BENCH_AFTER_MIGRATE_SQL;
  if (extra) await withClient(bench.databaseUrl, async (c) => void (await c.query(await readFile(extra, 'utf8'))));
  return bench;
}

/** Runs `fn` with a fresh connection to `url`, closed afterwards. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Commits + rollbacks of `database` as the statistics collector has them now. */
export async function transactionsOf(adminUrl: string, database: string): Promise<number> {
  // A fresh connection, to the maintenance database so that this read is not counted itself.
  return withClient(adminUrl, async (client) => {
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query<{ n: string }>(
      'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    return Number(rows[0]?.n ?? 0);
  });
}

/**
 * Makes every backend of `pool` flush the statistics it still holds. A PG15 backend that finished a
 * transaction less than a second after its previous flush keeps the counts for up to 10 s once idle;
 * after waiting out that second, one more transaction on each connection makes it flush at once
 * (before it answers), so a reading taken afterwards includes everything done so far.
 */
export async function flushStatistics(pools: Array<{ query(sql: string): Promise<unknown>; totalCount: number }>): Promise<void> {
  await sleep(STATS_FLUSH_MS);
  await Promise.all(pools.map((pool) => Promise.all(Array.from({ length: Math.max(1, pool.totalCount) }, () => pool.query('SELECT 1')))));
}

/**
 * Waits until no session is connected to `database` any more (a backend flushes its statistics when it
 * exits), up to `ms`; then a reading of `transactionsOf` is complete.
 */
export async function untilDisconnected(adminUrl: string, database: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  await withClient(adminUrl, async (client) => {
    for (;;) {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      );
      if ((rows[0]?.n ?? 0) === 0 || Date.now() > deadline) break;
      await sleep(50);
    }
  });
  // The exit-time flush happens before the backend leaves pg_stat_activity; a little slack all the same.
  await sleep(100);
}
