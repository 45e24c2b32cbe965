/** Server URL (no database) the tests create their databases on. */
export const TEST_PG_SERVER_URL = process.env.TEST_PG_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432';
/** Redis the tests use; each test file works under its own key prefix. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The migrated database every test database is copied from. */
export const TEMPLATE_DATABASE = 'booking_test_template';
/** Name prefix of the per-file test databases. */
export const TEST_DATABASE_PREFIX = 'booking_t_';

/** A URL to database `name` on the test server. */
export function databaseUrl(name: string): string {
  return `${TEST_PG_SERVER_URL}/${name}`;
}
