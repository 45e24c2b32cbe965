import { housekeepingIntervalMs, type WorkerEnv } from '@booking/config';

import type { WorkerOptions } from './worker.ts';

/** The worker role's options from its parsed environment, plus what the process has opened. */
export function workerOptionsFromEnv(
  env: Omit<WorkerEnv, 'METRICS_PORT'>,
  opened: Pick<WorkerOptions, 'db' | 'pool' | 'logger' | 'registry'>,
): WorkerOptions {
  return {
    ...opened,
    redis: { url: env.REDIS_URL, cluster: env.REDIS_CLUSTER },
    prefix: env.QUEUE_PREFIX,
    maxEvents: env.WORKER_CONCURRENCY_EVENTS,
    lockMs: env.WORKER_LOCK_MS,
    housekeepingMs: housekeepingIntervalMs(env),
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
  };
}
