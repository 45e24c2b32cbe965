import type { ApiEnv } from '@booking/config';

import type { ApiOptions } from './server.ts';

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
    rateLimit: { points: env.RATE_LIMIT_POINTS, windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS },
    admissionGate: env.ADMISSION_GATE,
  };
}
