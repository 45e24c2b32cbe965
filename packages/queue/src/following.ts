import { Job, type MinimalQueue } from 'bullmq';

import { TAKE_FOLLOWING } from './following.lua.ts';
import { defineScripts } from './lua-scripts.ts';
import { gateKeys } from './names.ts';
import type { RedisClient } from './redis.ts';

interface FollowingCommands {
  bookingTakeFollowing(...args: (string | number)[]): Promise<Array<string | string[]>>;
}

export interface TakeFollowingInput {
  eventId: string;
  /** The job being processed, whose lock the caller holds. */
  heldJobId: string;
  token: string;
  lockMs: number;
  maxJobs: number;
  maxRequests: number;
  /** The kind of job taken (BullMQ's job name): `book` unless given; a job of another kind counts as one request. */
  kind?: 'book' | 'confirm';
}

/**
 * Takes the booking jobs queued right behind an event's active job into the caller's hands (made
 * active under the same lock token), oldest first, in one round trip. `queue` is what the returned
 * jobs are bound to (the event's BullMQ worker), so that they can be completed like the job in hand.
 */
export async function takeFollowingJobs(
  redis: RedisClient,
  prefix: string,
  queue: MinimalQueue,
  input: TakeFollowingInput,
): Promise<Job[]> {
  const commands = redis as RedisClient & FollowingCommands;
  defineScripts(redis, { bookingTakeFollowing: TAKE_FOLLOWING });
  const k = gateKeys(prefix, input.eventId);
  const flat = await commands.bookingTakeFollowing(
    k.wait,
    k.active,
    `${k.jobPrefix}events`,
    k.jobPrefix,
    input.heldJobId,
    input.token,
    input.lockMs,
    input.maxJobs,
    input.maxRequests,
    Date.now(),
    input.kind ?? 'book',
  );
  const jobs: Job[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const id = flat[i] as string;
    const pairs = flat[i + 1] as string[];
    const raw: Record<string, string> = {};
    for (let j = 0; j + 1 < pairs.length; j += 2) raw[pairs[j]!] = pairs[j + 1]!;
    const job = Job.fromJSON(queue, raw as unknown as Parameters<typeof Job.fromJSON>[1], id);
    job.token = input.token;
    jobs.push(job);
  }
  return jobs;
}
