import { type Migration, type MigrationProvider, type MigrationResult, Migrator, NO_MIGRATIONS } from 'kysely';

import type { Db } from './connection.ts';
import * as initialSchema from './migrations/2026-11-25T1000-initial-schema.ts';

// Listed by hand rather than read from the folder so the set is fixed at build time and works the
// same under tsx, a bundler or compiled output. Append only; names sort by their date prefix.
const MIGRATIONS: Record<string, Migration> = {
  '2026-11-25T1000-initial-schema': initialSchema,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

function migrator(db: Db): Migrator {
  return new Migrator({ db, provider });
}

function check(results: { error?: unknown; results?: MigrationResult[] }): MigrationResult[] {
  if (results.error) throw results.error;
  return results.results ?? [];
}

/** Applies every pending migration (concurrent callers are serialized by Kysely's lock). */
export async function migrateToLatest(db: Db): Promise<MigrationResult[]> {
  return check(await migrator(db).migrateToLatest());
}

/** Reverts the latest applied migration. */
export async function migrateDown(db: Db): Promise<MigrationResult[]> {
  return check(await migrator(db).migrateDown());
}

/** Reverts every applied migration. */
export async function migrateToNothing(db: Db): Promise<MigrationResult[]> {
  return check(await migrator(db).migrateTo(NO_MIGRATIONS));
}
