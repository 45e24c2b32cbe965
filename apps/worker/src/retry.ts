import { setTimeout as sleep } from 'node:timers/promises';

import { isTransientDbError } from '@booking/db';

/**
 * Runs `fn` until it succeeds, waiting out transient database faults with capped exponential backoff.
 * Retrying in place (rather than failing the job for BullMQ to retry later) keeps the event's queue
 * in order: nothing behind this job is decided first. When `signal` aborts (forced shutdown) it never
 * settles: the job is left to expire and be picked up again, which is how a worker hands work back.
 */
export async function untilDone<T>(
  fn: () => Promise<T>,
  signal: AbortSignal,
  onRetry: (err: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientDbError(err)) throw err;
      onRetry(err, attempt);
      if (signal.aborted) return new Promise<T>(() => {});
      await sleep(Math.min(50 * 2 ** Math.min(attempt, 6), 2_000)).catch(() => {});
    }
  }
}
