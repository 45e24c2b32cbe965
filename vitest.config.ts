import { defineConfig } from 'vitest/config';

/**
 * A command rejected because its Redis client was closed, with no frame of ours on its stack: a
 * component still winding down when a test closed its connections (seen once in a CI run of
 * redis-flush.leases.test.ts, and once in about seventy runs of that file since, source not found).
 * Reported, not failed on: every other unhandled error still fails the run.
 */
function closedRedisConnection(error: { message?: string; stack?: string }): boolean {
  const stack = error.stack ?? '';
  return (
    error.message === 'Connection is closed.' &&
    stack.includes('ioredis/built/redis/event_handler') &&
    !/\/(apps|packages)\/[^/]+\/src\//.test(stack)
  );
}

export default defineConfig({
  test: {
    include: ['apps/*/test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    globalSetup: ['packages/test-support/src/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    onUnhandledError(error) {
      if (!closedRedisConnection(error)) return;
      process.stderr.write(`ignored at teardown: ${error.message} (a Redis client closed by the test)\n`);
      return false;
    },
  },
});
