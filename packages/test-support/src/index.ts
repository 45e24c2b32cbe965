// Everything for tests. assertions and invariants load vitest: code that runs outside a test (the
// benchmarks) imports the modules it needs by subpath instead (@booking/test-support/http, /processes,
// /random, ...).
export * from './assertions.ts';
export * from './database.ts';
export * from './env.ts';
export * from './http.ts';
export * from './invariants.ts';
export * from './logger.ts';
export * from './private-postgres.ts';
export * from './processes.ts';
export * from './random.ts';
export * from './redis.ts';
