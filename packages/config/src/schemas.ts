import { randomBytes } from 'node:crypto';

import { z } from 'zod';

import { identityFields, identityRules } from './identity.schema.ts';

const url = (protocols: RegExp, what: string) =>
  z.string().refine((v) => {
    try {
      return protocols.test(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a ${what} URL`);

const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

const port = z.coerce.number().int().min(0).max(65535);

const logLevel = z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info');

/** Variables every process reads. */
export const commonEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: url(/^postgres(ql)?:$/, 'postgres://').default('postgres://postgres@127.0.0.1:5432/booking'),
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine(
      (v) =>
        v.split(',').every((part) => {
          try {
            return /^rediss?:$/.test(new URL(part.trim()).protocol);
          } catch {
            return false;
          }
        }),
      'must be a redis:// URL, or a comma-separated list of them with REDIS_CLUSTER=true',
    ),
  REDIS_CLUSTER: bool,
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1..40 letters, digits, _ or -')
    .default('booking'),
  LOG_LEVEL: logLevel,
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  /** `false`: a process neither creates the database nor applies migrations when it starts (for
   * deployments that run `npm run migrate` as a job of its own before the service starts). */
  MIGRATE_ON_START: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});

const adminKey = z.string().min(16, 'must be at least 16 characters').optional();

function requireAdminKeyInProduction<T extends { NODE_ENV: string; ADMIN_API_KEY?: string | undefined }>(
  env: T,
  ctx: z.RefinementCtx,
): void {
  if (env.NODE_ENV === 'production' && !env.ADMIN_API_KEY) {
    ctx.addIssue({ code: 'custom', path: ['ADMIN_API_KEY'], message: 'is required when NODE_ENV=production' });
  }
}

const apiFields = z.object({
  PORT: port.default(3000),
  ADMIN_API_KEY: adminKey,
  BODY_LIMIT_BYTES: z.coerce.number().int().min(256).max(1_048_576).default(16_384),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  /** How long an Idempotency-Key and its answer are kept. */
  IDEMPOTENCY_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(86_400),
  /** How long a key whose answer was 409 SOLD_OUT is kept: most keys of a sell-out, so shorter. */
  IDEMPOTENCY_CONFLICT_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(30 * 86_400)
    .default(600),
  /** Booking submissions one user may send per window, across all API replicas. */
  RATE_LIMIT_POINTS: z.coerce.number().int().min(1).max(1_000_000).default(20),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(10),
  /** `false` turns off fast SOLD_OUT answers at the door: every request is queued for the worker. */
  ADMISSION_GATE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  ...identityFields.shape,
});

const workerFields = z.object({
  /** Events one worker process serves at once (one Redis connection each): bounds its connections. */
  WORKER_CONCURRENCY_EVENTS: z.coerce.number().int().min(1).max(10_000).default(200),
  /** How long a worker's hold on a job lasts without renewal; a dead worker's job is recovered after it. */
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(2_000),
  /**
   * How often one of the workers does the housekeeping (lost requests, missed ready marks, orphaned
   * gate records, keys of ended sales); default 5,000. See `housekeepingIntervalMs`.
   */
  HOUSEKEEPING_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).optional(),
  /** The former name of HOUSEKEEPING_INTERVAL_MS, still read when that is not set. */
  EVENT_REFRESH_MS: z.coerce.number().int().min(100).max(600_000).optional(),
});

/** The housekeeping interval: HOUSEKEEPING_INTERVAL_MS, else its former name EVENT_REFRESH_MS, else 5 s. */
export function housekeepingIntervalMs(env: {
  HOUSEKEEPING_INTERVAL_MS?: number | undefined;
  EVENT_REFRESH_MS?: number | undefined;
}): number {
  return env.HOUSEKEEPING_INTERVAL_MS ?? env.EVENT_REFRESH_MS ?? 5_000;
}

function conflictKeysLiveShorter<T extends { IDEMPOTENCY_TTL_SECONDS: number; IDEMPOTENCY_CONFLICT_TTL_SECONDS: number }>(
  env: T,
  ctx: z.RefinementCtx,
): void {
  if (env.IDEMPOTENCY_CONFLICT_TTL_SECONDS > env.IDEMPOTENCY_TTL_SECONDS) {
    ctx.addIssue({ code: 'custom', path: ['IDEMPOTENCY_CONFLICT_TTL_SECONDS'], message: 'must not exceed IDEMPOTENCY_TTL_SECONDS' });
  }
}

/** Environment of an API-only process. */
export const apiEnv = commonEnv
  .extend(apiFields.shape)
  .superRefine(requireAdminKeyInProduction, { when: () => true })
  .superRefine(conflictKeysLiveShorter);
/**
 * What the API entry point accepts: `apiEnv` plus the rules on identity (in production an explicit
 * `AUTH_MODE`, no placeholder admin key, no development token secret).
 */
export const apiStartEnv = apiEnv.superRefine(identityRules, { when: () => true });
/** Environment of a worker-only process (it serves /metrics and /healthz on METRICS_PORT). */
export const workerEnv = commonEnv
  .extend(workerFields.shape)
  .extend({ METRICS_PORT: port.default(9464), SHUTDOWN_GRACE_MS: apiFields.shape.SHUTDOWN_GRACE_MS });
/** Environment of the single-process server (API and worker). */
export const serverEnv = commonEnv
  .extend(apiFields.shape)
  .extend(workerFields.shape)
  .superRefine(requireAdminKeyInProduction, { when: () => true })
  .superRefine(conflictKeysLiveShorter);
/** What the single-process entry point accepts: `serverEnv` plus the rules on identity. */
export const serverStartEnv = serverEnv.superRefine(identityRules, { when: () => true });

export type CommonEnv = z.output<typeof commonEnv>;
export type ApiEnv = z.output<typeof apiEnv>;
export type WorkerEnv = z.output<typeof workerEnv>;
export type ServerEnv = z.output<typeof serverEnv>;

/** The admin key to use: the configured one, or a random one for development (the caller prints it). */
export function resolveAdminKey(configured: string | undefined): { key: string; generated: boolean } {
  if (configured) return { key: configured, generated: false };
  return { key: randomBytes(24).toString('base64url'), generated: true };
}
