import { type RedisClient, takeFollowingJobs } from '@booking/queue';
import type { Job, Worker } from 'bullmq';

import type { FollowingJobs } from './processor.types.ts';

/** Most jobs taken behind the one in hand: a bound on one batch's Redis work, whatever the job sizes. */
const MAX_FOLLOWING_JOBS = 1_000;

/**
 * The jobs queued behind `held` in the queue of `worker` (one event's), taken and completed under
 * the held job's lock token.
 */
export function followingJobs(options: {
  connection: RedisClient;
  prefix: string;
  eventId: string;
  worker: Worker;
  held: Job;
  token: string;
  lockMs: number;
}): FollowingJobs {
  const { connection, prefix, eventId, worker, held, token, lockMs } = options;
  return {
    take: (maxRequests, kind = 'book') =>
      maxRequests <= 0 || !held.id
        ? Promise.resolve([])
        : takeFollowingJobs(connection, prefix, worker, {
            eventId,
            heldJobId: held.id,
            token,
            lockMs,
            maxJobs: MAX_FOLLOWING_JOBS,
            maxRequests,
            kind,
          }),
    keepLocked(jobs) {
      if (jobs.length === 0) return () => {};
      const ids = jobs.map((j) => j.id!);
      const tokens = ids.map(() => token);
      const timer = setInterval(() => void worker.extendJobLocks(ids, tokens, lockMs).catch(() => {}), Math.max(100, lockMs / 2));
      timer.unref();
      return () => clearInterval(timer);
    },
    async complete(jobs) {
      await Promise.all(jobs.map((j) => j.moveToCompleted(undefined, token, false)));
    },
    async fail(job, error) {
      await job.moveToFailed(error, token, false);
    },
  };
}
