import { type ApiEnv, authModeOf, DEV_JWT_SECRET } from '@booking/config';

import type { AuthOptions } from './auth/authenticator.ts';
import type { ApiOptions } from './server.ts';

/**
 * Identity settings from the environment. `jwt` mode without a secret or a JWKS URL verifies with the
 * development secret (`npm run token` signs with it); the configuration refuses that in production.
 */
export function authOptionsFromEnv(env: Omit<ApiEnv, 'NODE_ENV'>): AuthOptions {
  const mode = authModeOf(env);
  return {
    mode,
    userHeader: env.AUTH_USER_HEADER,
    ...(mode === 'jwt' && env.AUTH_JWKS_URL ? { jwksUrl: env.AUTH_JWKS_URL } : {}),
    ...(mode === 'jwt' && !env.AUTH_JWKS_URL ? { jwtSecret: env.AUTH_JWT_SECRET ?? DEV_JWT_SECRET } : {}),
    ...(env.AUTH_JWT_ISSUER ? { issuer: env.AUTH_JWT_ISSUER } : {}),
    ...(env.AUTH_JWT_AUDIENCE ? { audience: env.AUTH_JWT_AUDIENCE } : {}),
  };
}

/** The API role's options from its parsed environment, plus what the process has opened. */
export function apiOptionsFromEnv(
  env: Omit<ApiEnv, 'NODE_ENV'>,
  opened: Pick<ApiOptions, 'db' | 'pool' | 'logger' | 'registry' | 'adminKey'>,
): ApiOptions {
  return {
    ...opened,
    redis: { url: env.REDIS_URL, cluster: env.REDIS_CLUSTER },
    prefix: env.QUEUE_PREFIX,
    port: env.PORT,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
    idempotencyConflictTtlSeconds: env.IDEMPOTENCY_CONFLICT_TTL_SECONDS,
    rateLimit: { points: env.RATE_LIMIT_POINTS, windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS },
    addressRateLimitPoints: env.RATE_LIMIT_IP_POINTS,
    auth: authOptionsFromEnv(env),
    trustProxy: env.TRUST_PROXY,
    longPolls: { perUser: env.LONG_POLL_MAX_PER_USER, perProcess: env.LONG_POLL_MAX_PER_PROCESS },
    adminMaxFailures: env.ADMIN_AUTH_MAX_FAILURES,
    admissionGate: env.ADMISSION_GATE,
  };
}
