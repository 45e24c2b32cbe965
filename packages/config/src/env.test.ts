import { describe, expect, it } from 'vitest';

import { ConfigError, parseEnv } from './env.ts';
import { apiEnv, resolveAdminKey, serverEnv, workerEnv } from './schemas.ts';

/** The ConfigError parseEnv throws for `env`, or a failure when it accepts it. */
function configError(schema: Parameters<typeof parseEnv>[0], env: Record<string, string | undefined>): ConfigError {
  try {
    parseEnv(schema, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`configuration was accepted: ${JSON.stringify(env)}`);
}

/** The variable names a ConfigError lists (each problem reads `NAME: problem`). */
function named(err: ConfigError): string[] {
  return err.problems.map((p) => p.slice(0, p.indexOf(':'))).sort();
}

describe('configuration errors', () => {
  it('name every bad variable at once', () => {
    const err = configError(serverEnv, { PORT: 'abc', DATABASE_URL: 'nope' });
    expect(named(err)).toEqual(['DATABASE_URL', 'PORT']);
    expect(err.message).toMatch(/^\s*PORT: /m);
    expect(err.message).toMatch(/^\s*DATABASE_URL: /m);
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://localhost/booking'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_URL', 'redis://a:6379,nope'],
    ['QUEUE_PREFIX', 'has space'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['ADMIN_API_KEY', 'short'],
    ['DATABASE_POOL_SIZE', '0'],
    ['WORKER_CONCURRENCY_EVENTS', 'many'],
    ['WORKER_LOCK_MS', '10'],
    ['REDIS_CLUSTER', 'yes'],
  ])('name %s=%s', (name, value) => {
    expect(named(configError(serverEnv, { [name]: value }))).toEqual([name]);
  });

  it('require ADMIN_API_KEY when NODE_ENV=production', () => {
    expect(named(configError(serverEnv, { NODE_ENV: 'production' }))).toEqual(['ADMIN_API_KEY']);
    expect(named(configError(apiEnv, { NODE_ENV: 'production' }))).toEqual(['ADMIN_API_KEY']);
    expect(parseEnv(serverEnv, { NODE_ENV: 'production', ADMIN_API_KEY: 'k'.repeat(32) }).ADMIN_API_KEY).toBe(
      'k'.repeat(32),
    );
  });

  it('name a missing ADMIN_API_KEY in production alongside other bad variables', () => {
    const err = configError(serverEnv, { NODE_ENV: 'production', PORT: 'abc', DATABASE_URL: 'nope' });
    expect(named(err)).toEqual(['ADMIN_API_KEY', 'DATABASE_URL', 'PORT']);
  });

  it('do not apply to a worker, which has no admin routes', () => {
    expect(() => parseEnv(workerEnv, { NODE_ENV: 'production' })).not.toThrow();
  });
});

describe('configuration defaults', () => {
  it('are the ones the contract lists', () => {
    const env = parseEnv(serverEnv, {});
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/booking');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.REDIS_CLUSTER).toBe(false);
    expect(env.PORT).toBe(3000);
    expect(env.ADMIN_API_KEY).toBeUndefined();
    expect(env.WORKER_CONCURRENCY_EVENTS).toBeGreaterThanOrEqual(1);
    expect(parseEnv(apiEnv, {}).PORT).toBe(3000);
    expect(parseEnv(workerEnv, {}).DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/booking');
  });

  it('generate a random admin key outside production when none is set', () => {
    const a = resolveAdminKey(undefined);
    const b = resolveAdminKey(undefined);
    expect(a.generated).toBe(true);
    expect(a.key.length).toBeGreaterThanOrEqual(16);
    expect(a.key).not.toBe(b.key);
    expect(resolveAdminKey('configured-key-0123')).toEqual({ key: 'configured-key-0123', generated: false });
  });

  it('accept the documented forms', () => {
    const env = parseEnv(serverEnv, {
      PORT: '8080',
      DATABASE_URL: 'postgresql://u:p@db:5432/x',
      REDIS_URL: 'redis://a:6379, redis://b:6379',
      REDIS_CLUSTER: 'true',
      WORKER_CONCURRENCY_EVENTS: '5',
    });
    expect(env).toMatchObject({ PORT: 8080, REDIS_CLUSTER: true, WORKER_CONCURRENCY_EVENTS: 5 });
  });
});
