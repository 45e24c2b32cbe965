import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

import type { Database } from './database.ts';

// Postgres returns bigint (int8) as text; counts and sums we read fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Db = Kysely<Database>;

export interface DbOptions {
  url: string;
  poolSize?: number;
  /** Fail a query fast instead of waiting forever for a connection (ms). */
  connectionTimeoutMs?: number;
  applicationName?: string;
}

/** A Kysely instance over a pg pool; `db.destroy()` closes the pool. */
export function createDb(options: DbOptions): { db: Db; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? 'booking',
    // A statement that runs this long is stuck (lock wait on a dead peer, say): fail it rather than hang.
    statement_timeout: 15_000,
  });
  // A client losing its connection (a database restart, say) emits 'error': the pool listens while
  // the client is idle, nobody while it is checked out between queries, and an unheard 'error' would
  // crash the process. The query in flight, if any, still fails, and the pool drops the client.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}

/** Creates the database named in `url` when it does not exist yet (connects to `postgres` to do so). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } catch (err) {
        // Another process created it between our check and our CREATE.
        if ((err as { code?: string }).code !== DUPLICATE_DATABASE) throw err;
      }
    }
  } finally {
    await client.end();
  }
}

const DUPLICATE_DATABASE = '42P04';
