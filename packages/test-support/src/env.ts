/** Server URL (no database) the tests create their databases on. */
export const TEST_PG_SERVER_URL = process.env.TEST_PG_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432';
/** Redis the tests use; each test file works under its own key prefix. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Name prefix of every database the tests create; the next part is the creation time in seconds. */
export const TEST_DATABASE_PREFIX = 'booking_t_';

/** A new test database name: prefix, creation time (for cleaning up after killed runs), random part. */
export function newTestDatabaseName(kind: 'tpl' | 'db'): string {
  const random = Math.random().toString(36).slice(2, 10);
  return `${TEST_DATABASE_PREFIX}${Math.floor(Date.now() / 1000)}_${kind}_${random}`;
}

/** The migrated database this run's test databases are copied from (set by the global setup). */
export function templateDatabase(): string {
  const name = process.env.BOOKING_TEST_TEMPLATE_DB;
  if (!name) throw new Error('BOOKING_TEST_TEMPLATE_DB is not set: run the tests through vitest (global setup)');
  return name;
}

/** A URL to database `name` on the test server. */
export function databaseUrl(name: string): string {
  return `${TEST_PG_SERVER_URL}/${name}`;
}
