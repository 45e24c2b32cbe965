import { describe, expect, it } from 'vitest';

import { ConfigError, parseEnv } from '../src/env.ts';
import { authModeOf, DEV_JWT_SECRET, isPlaceholderAdminKey } from '../src/identity.schema.ts';
import { apiEnv, apiStartEnv, housekeepingIntervalMs, resolveAdminKey, serverEnv, serverStartEnv, workerEnv } from '../src/schemas.ts';

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
    expect(parseEnv(serverEnv, { NODE_ENV: 'production', ADMIN_API_KEY: 'k'.repeat(32) }).ADMIN_API_KEY).toBe('k'.repeat(32));
  });

  it('name a missing ADMIN_API_KEY in production alongside other bad variables', () => {
    const err = configError(serverEnv, { NODE_ENV: 'production', PORT: 'abc', DATABASE_URL: 'nope' });
    expect(named(err)).toEqual(['ADMIN_API_KEY', 'DATABASE_URL', 'PORT']);
  });

  it('refuse keeping the keys of 409 answers longer than those of 202s', () => {
    const err = configError(apiEnv, { IDEMPOTENCY_TTL_SECONDS: '3600', IDEMPOTENCY_CONFLICT_TTL_SECONDS: '7200' });
    expect(named(err)).toEqual(['IDEMPOTENCY_CONFLICT_TTL_SECONDS']);
    expect(parseEnv(serverEnv, {}).IDEMPOTENCY_CONFLICT_TTL_SECONDS).toBeLessThan(parseEnv(serverEnv, {}).IDEMPOTENCY_TTL_SECONDS);
  });

  it('do not apply to a worker, which has no admin routes', () => {
    expect(() => parseEnv(workerEnv, { NODE_ENV: 'production' })).not.toThrow();
  });
});

describe('the housekeeping interval', () => {
  it('is HOUSEKEEPING_INTERVAL_MS, 5 s by default', () => {
    expect(housekeepingIntervalMs(parseEnv(workerEnv, {}))).toBe(5_000);
    expect(housekeepingIntervalMs(parseEnv(workerEnv, { HOUSEKEEPING_INTERVAL_MS: '2000' }))).toBe(2_000);
  });

  it('is still read from its former name EVENT_REFRESH_MS, which the new name overrides', () => {
    expect(housekeepingIntervalMs(parseEnv(serverEnv, { EVENT_REFRESH_MS: '3000' }))).toBe(3_000);
    expect(housekeepingIntervalMs(parseEnv(serverEnv, { EVENT_REFRESH_MS: '3000', HOUSEKEEPING_INTERVAL_MS: '1000' }))).toBe(1_000);
  });

  it('refuses a value below 100 ms under either name', () => {
    expect(named(configError(workerEnv, { HOUSEKEEPING_INTERVAL_MS: '10' }))).toEqual(['HOUSEKEEPING_INTERVAL_MS']);
    expect(named(configError(workerEnv, { EVENT_REFRESH_MS: '10' }))).toEqual(['EVENT_REFRESH_MS']);
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

describe('identity configuration', () => {
  const production = { NODE_ENV: 'production', ADMIN_API_KEY: 'a7f3c9e1b5d2f8a4c6e0b9d3f1a5c7e2' };

  it('requires an explicit AUTH_MODE in production, and only there', () => {
    expect(named(configError(apiStartEnv, production))).toEqual(['AUTH_MODE']);
    expect(named(configError(serverStartEnv, production))).toEqual(['AUTH_MODE']);
    expect(parseEnv(apiStartEnv, { ...production, AUTH_MODE: 'none' }).AUTH_MODE).toBe('none');
    expect(authModeOf(parseEnv(apiStartEnv, {}))).toBe('none');
  });

  it('names a missing AUTH_MODE and a missing ADMIN_API_KEY together', () => {
    expect(named(configError(serverStartEnv, { NODE_ENV: 'production' }))).toEqual(['ADMIN_API_KEY', 'AUTH_MODE']);
  });

  it.each(['change-me-to-a-long-random-admin-key', 'change-me-change-me', 'CHANGEME-0123456789', 'xxxxxxxxxxxxxxxxxxxx'])(
    'refuses the placeholder admin key %s in production',
    (key) => {
      expect(isPlaceholderAdminKey(key)).toBe(true);
      expect(named(configError(apiStartEnv, { ...production, AUTH_MODE: 'none', ADMIN_API_KEY: key }))).toEqual(['ADMIN_API_KEY']);
      expect(() => parseEnv(apiStartEnv, { AUTH_MODE: 'none', ADMIN_API_KEY: key })).not.toThrow();
    },
  );

  it('refuses the development token secret in production, and jwt without any key there', () => {
    const jwt = { ...production, AUTH_MODE: 'jwt' };
    expect(named(configError(apiStartEnv, { ...jwt, AUTH_JWT_SECRET: DEV_JWT_SECRET }))).toEqual(['AUTH_JWT_SECRET']);
    expect(named(configError(apiStartEnv, jwt))).toEqual(['AUTH_JWT_SECRET']);
    expect(parseEnv(apiStartEnv, { ...jwt, AUTH_JWT_SECRET: 's'.repeat(8) + 'a-real-secret-of-enough-length' }).AUTH_MODE).toBe('jwt');
    expect(parseEnv(apiStartEnv, { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: DEV_JWT_SECRET }).AUTH_JWT_SECRET).toBe(DEV_JWT_SECRET);
  });

  it.each([
    ['AUTH_MODE', 'oauth'],
    ['AUTH_JWT_SECRET', 'too-short'],
    ['AUTH_JWKS_URL', 'ftp://keys.example/jwks'],
    ['AUTH_USER_HEADER', 'X User'],
    ['RATE_LIMIT_IP_POINTS', '0'],
    ['TRUST_PROXY', '-1'],
    ['LONG_POLL_MAX_PER_USER', '0'],
    ['LONG_POLL_MAX_PER_PROCESS', 'lots'],
    ['ADMIN_AUTH_MAX_FAILURES', '0'],
  ])('names %s=%s', (name, value) => {
    expect(named(configError(apiStartEnv, { [name]: value }))).toEqual([name]);
  });

  it('refuses both a secret and a JWKS URL', () => {
    const env = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'x'.repeat(40), AUTH_JWKS_URL: 'https://issuer.example/jwks.json' };
    expect(named(configError(apiStartEnv, env))).toEqual(['AUTH_JWKS_URL']);
  });

  it('has the documented defaults', () => {
    const env = parseEnv(apiStartEnv, {});
    expect(env).toMatchObject({ AUTH_USER_HEADER: 'X-User-Id', TRUST_PROXY: 0, RATE_LIMIT_IP_POINTS: 20000 });
    expect(env.AUTH_MODE).toBeUndefined();
  });
});
