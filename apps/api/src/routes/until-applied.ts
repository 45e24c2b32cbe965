import { AppError } from '@booking/domain';
import type { DecisionMessage, JobData } from '@booking/queue';

import type { ApiDeps } from '../deps.ts';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../middleware/problem.ts';

/**
 * Queues a job that changes a booking in the event's queue (a cancellation, a checkout) and waits,
 * up to `cancelWaitMs`, until it is applied: registered for the job's message before it is queued,
 * so the message cannot be missed, and re-reading after each wake-up, since it may have been applied
 * before the registration. `503` with Retry-After when it is queued but not applied in time.
 */
export async function untilApplied<T>(
  deps: Pick<ApiDeps, 'hub' | 'queues' | 'cancelWaitMs'>,
  job: {
    eventId: string;
    jobId: string;
    data: JobData;
    /** The state now if the job has been applied, else undefined. */
    applied: () => Promise<T | undefined>;
    /** The state a message carries if it is this job's outcome, else undefined. */
    fromMessage: (message: DecisionMessage) => T | undefined;
    /** What the job is, for the 503 ("the cancellation"). */
    what: string;
    /** Queued ahead of the jobs waiting (a checkout, which its hold's expiry must not overtake). */
    front?: boolean;
  },
): Promise<T> {
  const deadline = Date.now() + deps.cancelWaitMs;
  let waiter = deps.hub.register(job.jobId, deps.cancelWaitMs);
  try {
    await deps.queues.enqueue(job.eventId, job.jobId, job.data, job.front);
  } catch (err) {
    waiter.cancel();
    throw err;
  }
  for (;;) {
    const now = await job.applied();
    if (now !== undefined) {
      waiter.cancel();
      return now;
    }
    const outcome = await waiter.result;
    const carried = outcome.kind === 'message' ? job.fromMessage(outcome.message) : undefined;
    if (carried !== undefined) return carried;
    const left = deadline - Date.now();
    if (left <= 0 || outcome.kind === 'closing') break;
    waiter = deps.hub.register(job.jobId, left);
  }
  throw new AppError('UNAVAILABLE', `${job.what} is queued but not applied yet; repeat the call`, {
    retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
  });
}
