import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { createDb, type Db, migrate, MIGRATIONS, SQL_FUNCTIONS } from '@booking/db';
import { createTestDatabase, databaseUrl, newTestDatabaseName, withAdmin } from '@booking/test-support';
import { Migrator, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** An empty database of its own (not a copy of the migrated template). */
async function emptyDatabase(): Promise<{ db: Db; url: string }> {
  const name = newTestDatabaseName('db');
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = databaseUrl(name);
  const { db } = createDb({ url, poolSize: 2, applicationName: 'booking-test' });
  opened.push({ db, name });
  return { db, url };
}
const opened: Array<{ db: Db; name: string }> = [];

/** Each function's full definition as PostgreSQL holds it. */
async function definitions(db: Db): Promise<Record<string, string>> {
  const { rows } = await sql<{ name: string; def: string }>`
    SELECT p.proname AS name, pg_get_functiondef(p.oid) AS def
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' ORDER BY 1`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.name, r.def]));
}

/** Brings an empty database to where the migrator of the previous release left it: migrations only, no files. */
async function migrateAsBefore(db: Db): Promise<void> {
  const { error } = await new Migrator({ db, provider: { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) } }).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(JSON.stringify(error));
}

async function recordTableExists(db: Db): Promise<boolean> {
  const { rows } = await sql<{ found: string | null }>`SELECT to_regclass('repeatable_migrations')::text AS found`.execute(db);
  return rows[0]!.found !== null;
}

describe('SQL functions from their files', () => {
  afterAll(async () => {
    for (const { db, name } of opened) {
      await db.destroy();
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    }
  });

  it('a fresh database and one migrated before the files existed end with the same definitions', async () => {
    const fresh = await emptyDatabase();
    const first = await migrate(fresh.db);
    expect(first.migrations.length).toBe(Object.keys(MIGRATIONS).length);
    expect(first.functions).toEqual([...SQL_FUNCTIONS]);
    const wanted = await definitions(fresh.db);
    expect(Object.keys(wanted).sort()).toEqual([...SQL_FUNCTIONS].sort());

    const existing = await emptyDatabase();
    await migrateAsBefore(existing.db);
    expect(await recordTableExists(existing.db)).toBe(false);
    const upgrade = await migrate(existing.db);
    expect(upgrade).toEqual({ migrations: [], functions: [...SQL_FUNCTIONS] });
    expect(await definitions(existing.db)).toEqual(wanted);

    // Nothing changed since: nothing is applied again, on either.
    expect(await migrate(existing.db)).toEqual({ migrations: [], functions: [] });
    expect(await migrate(fresh.db)).toEqual({ migrations: [], functions: [] });
  });

  it('applies a file again when its checksum changed, and all of them after a new migration', async () => {
    const { db } = await emptyDatabase();
    await migrate(db);
    await sql`UPDATE repeatable_migrations SET checksum = 'edited' WHERE name = 'cancel_booking'`.execute(db);
    expect((await migrate(db)).functions).toEqual(['cancel_booking']);
    // As if the files had last been applied before the latest migration landed.
    await sql`UPDATE repeatable_migrations SET after_migration = 'an older one' WHERE name = 'decide_bookings'`.execute(db);
    expect((await migrate(db)).functions).toEqual(['decide_bookings']);
    // A migration applied in this run may have replaced what a file defines: every file again.
    const latest = Object.keys(MIGRATIONS).sort().at(-1)!;
    await MIGRATIONS[latest]!.down?.(db);
    await sql`DELETE FROM kysely_migration WHERE name = ${latest}`.execute(db);
    expect(await migrate(db)).toMatchObject({ migrations: [{ migrationName: latest, status: 'Success' }], functions: [...SQL_FUNCTIONS] });
  });

  it('each file runs with psql -f and defines its function as the migrator does', async () => {
    const database = await createTestDatabase(1);
    try {
      const wanted = await definitions(database.db);
      // CASCADE: a trigger function goes with its triggers (this database is dropped afterwards).
      for (const name of SQL_FUNCTIONS) await sql.raw(`DROP FUNCTION ${name} CASCADE`).execute(database.db);
      expect(await definitions(database.db)).toEqual({});
      for (const name of SQL_FUNCTIONS) {
        const file = fileURLToPath(new URL(`../sql/functions/${name}.sql`, import.meta.url));
        await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database.url, '-f', file]);
      }
      expect(await definitions(database.db)).toEqual(wanted);
    } finally {
      await database.drop();
    }
  });
});
