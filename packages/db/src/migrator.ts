import { type Migration, type MigrationProvider, type MigrationResult, Migrator, NO_MIGRATIONS } from 'kysely';

import type { Db } from './connection.ts';
import * as initialSchema from './migrations/2026-11-25T1000-initial-schema.ts';
import * as durableIdempotencyKeys from './migrations/2026-12-02T0100-durable-idempotency-keys.ts';
import * as salesEndIndex from './migrations/2026-12-02T0300-events-sales-end-index.ts';
import * as decideBookingsUserSeats from './migrations/2026-12-02T0400-decide-bookings-user-seats.ts';
import * as holds from './migrations/2026-12-02T0500-holds.ts';
import * as listIndexes from './migrations/2026-12-02T0500-list-indexes.ts';
import * as waitlist from './migrations/2026-12-02T0600-waitlist.ts';
import * as eventReferences from './migrations/2026-12-06T2200-event-references.ts';
import { applySqlFunctions, dropSqlFunctions } from './sql-functions.ts';

// Listed by hand rather than read from the folder so the set is fixed at build time and works the
// same under tsx, a bundler or compiled output. Append only; names sort by their date prefix. A landed
// migration never changes (a new one gets its line in migrations/SHA256SUMS, which a test checks);
// SQL functions are changed in their files under packages/db/sql/functions (see sql-functions.ts).
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '2026-11-25T1000-initial-schema': initialSchema,
  '2026-12-02T0100-durable-idempotency-keys': durableIdempotencyKeys,
  '2026-12-02T0300-events-sales-end-index': salesEndIndex,
  '2026-12-02T0400-decide-bookings-user-seats': decideBookingsUserSeats,
  '2026-12-02T0500-holds': holds,
  '2026-12-02T0500-list-indexes': listIndexes,
  '2026-12-02T0600-waitlist': waitlist,
  '2026-12-06T2200-event-references': eventReferences,
};

/** The migrations' names, in the order they are applied. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS).sort();

/** What Kysely runs: a migration without a `down` reverts as nothing (2026-12-02T0400 only replaces
 * decide_bookings, which the down of 2026-12-02T0100 drops); Kysely would otherwise leave it recorded
 * as applied while reverting the ones before it. */
const revertible = (m: Migration): Migration => ({ up: (db) => m.up(db), down: (db) => (m.down ? m.down(db) : Promise.resolve()) });

const provider: MigrationProvider = {
  getMigrations: () => Promise.resolve(Object.fromEntries(Object.entries(MIGRATIONS).map(([name, m]) => [name, revertible(m)]))),
};

function migrator(db: Db): Migrator {
  return new Migrator({ db, provider });
}

function check(results: { error?: unknown; results?: MigrationResult[] }): MigrationResult[] {
  if (results.error) throw results.error instanceof Error ? results.error : new Error(JSON.stringify(results.error));
  return results.results ?? [];
}

/**
 * Applies every pending migration (concurrent callers are serialized by Kysely's lock), then the SQL
 * function files that changed (see sql-functions.ts). Returns the migrations applied and the
 * functions applied.
 */
export async function migrate(db: Db): Promise<{ migrations: MigrationResult[]; functions: string[] }> {
  const migrations = check(await migrator(db).migrateToLatest());
  const functions = await applySqlFunctions(db, MIGRATION_NAMES.at(-1)!, migrations.length > 0);
  return { migrations, functions };
}

/** Applies every pending migration and then the SQL function files that changed; returns the migrations applied. */
export async function migrateToLatest(db: Db): Promise<MigrationResult[]> {
  return (await migrate(db)).migrations;
}

/** Reverts every applied migration, and drops what the SQL function files define. */
export async function migrateToNothing(db: Db): Promise<MigrationResult[]> {
  const results = check(await migrator(db).migrateTo(NO_MIGRATIONS));
  await dropSqlFunctions(db);
  return results;
}
