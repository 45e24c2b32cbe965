// The SQL functions as files: the current source of each lives in packages/db/sql/functions/NAME.sql
// (a `CREATE OR REPLACE FUNCTION` that `psql -f` runs as it is), and the migrator applies the files
// after the migrations as a repeatable step, in the manner of Flyway's `R__` files: a file is applied
// when its checksum differs from the one recorded in `repeatable_migrations`, and every file is
// applied again whenever migrations were applied since (a migration may have replaced or dropped what
// a file defines). A fresh database and an upgraded one so end with the same definitions.
//
// To change a function, edit its file; to add one, add its file and its name below. Migrations stay
// append-only (packages/db/test/migrations.append-only.test.ts).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { sql } from 'kysely';

import type { Db } from './connection.ts';

/** Names of the functions defined by files, in the order they are applied (listed by hand, like the migrations). */
export const SQL_FUNCTIONS = [
  'decide_booking_batch',
  'decide_bookings',
  'cancel_booking',
  'confirm_booking',
  'expire_holds',
  'promote_waitlist',
  'reject_waitlisted',
  'bookings_status_transition',
  'bookings_seats_taken',
  'event_references_inserted',
  'event_references_kept',
  'references_unchanged',
] as const;

/** Where the files are, relative to this module (src/ under tsx, dist/ once compiled). */
const FOLDER = new URL('../sql/functions/', import.meta.url);

/** Serializes the step between processes that start together (any constant other locks do not use). */
const LOCK_ID = 7_240_113_502;

/** The source of a function as its file holds it. */
export function sqlFunctionSource(name: string): Promise<string> {
  return readFile(new URL(`${name}.sql`, FOLDER), 'utf8');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Applies the function files that changed since they were last applied, or all of them when
 * `force` is set or migrations up to `latestMigration` were not all in place when they were last
 * applied. One transaction, under a lock. Returns the names of the functions applied.
 */
export async function applySqlFunctions(db: Db, latestMigration: string, force = false): Promise<string[]> {
  const sources = await Promise.all(SQL_FUNCTIONS.map(async (name) => ({ name, text: await sqlFunctionSource(name) })));
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${LOCK_ID})`.execute(trx);
    await sql`
      CREATE TABLE IF NOT EXISTS repeatable_migrations (
        name text PRIMARY KEY,
        checksum text NOT NULL,
        after_migration text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`.execute(trx);
    const { rows } = await sql<{ name: string; checksum: string; after_migration: string }>`
      SELECT name, checksum, after_migration FROM repeatable_migrations`.execute(trx);
    const recorded = new Map(rows.map((r) => [r.name, r]));
    const applied: string[] = [];
    for (const { name, text } of sources) {
      const checksum = sha256(text);
      const last = recorded.get(name);
      if (!force && last?.checksum === checksum && last.after_migration === latestMigration) continue;
      await sql.raw(text).execute(trx);
      await sql`
        INSERT INTO repeatable_migrations (name, checksum, after_migration) VALUES (${name}, ${checksum}, ${latestMigration})
        ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, after_migration = excluded.after_migration, applied_at = now()`.execute(
        trx,
      );
      applied.push(name);
    }
    return applied;
  });
}

/** Drops what the repeatable step made (the functions left after the migrations went down, and its table). */
export async function dropSqlFunctions(db: Db): Promise<void> {
  for (const name of [...SQL_FUNCTIONS].reverse()) await sql.raw(`DROP FUNCTION IF EXISTS ${name}`).execute(db);
  await sql`DROP TABLE IF EXISTS repeatable_migrations`.execute(db);
}
