import { setTimeout as sleep } from 'node:timers/promises';

import { cancelBooking, listUndecidedAccepted, StaleLeaseError, toBookingView, withPromotion } from '@booking/db';
import { type BookingRequestData, bookJobData, type CancelJobData, jobData } from '@booking/queue';
import { type Job, UnrecoverableError } from 'bullmq';

import { batchDecider } from './batch-decider.ts';
import { holdSteps } from './holds.processor.ts';
import type { BookingProcessor, FollowingJobs, ProcessorDeps } from './processor.types.ts';
import { untilDone } from './retry.ts';
import { waitlistSteps } from './waitlist.processor.ts';

/** Most requests one transaction decides when jobs are taken together (group commit across jobs). */
export const MAX_REQUESTS_PER_BATCH = 1_000;

/**
 * Most batches one job's turn decides before its job is completed and the next is fetched: a bound
 * on how long a shutdown or a handover waits for the job in progress.
 */
export const MAX_BATCHES_PER_JOB = 20;
/** How long after a request's acceptance the journal is taken to hold it (the recovery waits as long). */
const JOURNAL_CATCH_UP_MS = 500;

/** Never settles: the job is left to expire and be taken over by the event's new worker. */
function handBack(): Promise<never> {
  return new Promise<never>(() => {});
}

/** BullMQ numbers jobs added without an id in the order they were added. */
function byQueueOrder(a: Job, b: Job): number {
  const x = Number(a.id);
  const y = Number(b.id);
  return Number.isFinite(x) && Number.isFinite(y) ? x - y : 0;
}

/** Builds the processor that decides the jobs of events' queues. */
export function createBookingProcessor(deps: ProcessorDeps): BookingProcessor {
  const retrying = <T>(jobId: string | undefined, eventId: string, what: string, fn: () => Promise<T>) =>
    untilDone(fn, deps.signal, (err, attempt) => {
      deps.metrics.dbRetries.inc();
      deps.logger.warn(`database unavailable; retrying ${what}`, {
        jobId,
        eventId,
        attempt,
        error: err instanceof Error ? err.message : String(err),
      });
    });

  const { commit, announce, decide } = batchDecider(deps, retrying);
  const waitlist = waitlistSteps(deps, retrying);
  const holds = holdSteps(deps, retrying, waitlist);

  const lastRecovery = new Map<string, number>();

  /**
   * Decides, oldest first, the journalled requests accepted up to `until` that Redis no longer holds
   * (it lost them in a flush or a restart), then rebuilds the gate. Runs in the event's queue, so
   * nothing else of the event is being decided meanwhile.
   */
  async function recover(jobId: string | undefined, eventId: string, until: Date, skip: Set<string>, epoch: number): Promise<void> {
    // A recovery since this request was accepted has already covered everything accepted before it.
    if ((lastRecovery.get(eventId) ?? -Infinity) >= until.getTime()) return;
    lastRecovery.set(eventId, Date.now());
    // The API journals accepted requests behind its 202s (every few milliseconds, longer on a busy
    // machine): give the journal time to hold every request accepted up to `until`, or one found
    // later would be decided behind the rebuilt gate's back and take seats it promised to others.
    const catchUp = until.getTime() + JOURNAL_CATCH_UP_MS - Date.now();
    if (catchUp > 0) await sleep(catchUp);
    const accepted = await retrying(jobId, eventId, 'recovery', () => listUndecidedAccepted(deps.db, eventId, until));
    // A journal row is written only after its job was queued: undecided and not in the queue is lost.
    const queued = accepted.length > 0 ? await deps.keeper.queuedRequestIds(eventId) : new Set<string>();
    const lost: BookingRequestData[] = [];
    for (const row of accepted) {
      if (skip.has(row.id) || queued.has(row.id)) continue;
      lost.push({
        requestId: row.id,
        userId: row.userId,
        quantity: row.quantity,
        acceptedAt: row.acceptedAt.toISOString(),
        gated: true,
        ...(row.idempotencyKey ? { idempotencyKey: row.idempotencyKey } : {}),
        ...(row.waitlist ? { waitlist: true } : {}),
      });
    }
    for (let i = 0; i < lost.length; i += MAX_REQUESTS_PER_BATCH) {
      await decide(jobId, eventId, lost.slice(i, i + MAX_REQUESTS_PER_BATCH), epoch);
    }
    if (lost.length > 0) deps.metrics.recovered.inc(lost.length);
    await retrying(jobId, eventId, 'gate rebuild', () => deps.keeper.rebuildNow(eventId, jobId));
    deps.logger.log(lost.length > 0 ? 'warn' : 'info', 'recovery done', { eventId, jobId, recovered: lost.length });
  }

  async function cancel(job: Job, data: CancelJobData, epoch: number): Promise<void> {
    // The waiting list is served in the cancellation's transaction: once it is answered, the
    // entries that fit are confirmed.
    const { result: row, promoted } = await retrying(job.id, data.eventId, 'cancellation', () =>
      withPromotion(
        deps.db,
        data.eventId,
        epoch,
        (trx) => cancelBooking(trx, data.bookingId, epoch),
        (r) => r !== undefined,
      ),
    );
    if (!row) {
      deps.logger.error('cancellation names no booking; dropped', { jobId: job.id, eventId: data.eventId });
      throw new UnrecoverableError('booking not found');
    }
    await retrying(job.id, data.eventId, 'gate settlement', () =>
      deps.keeper.afterCancellation({
        jobId: job.id,
        eventId: row.event_id,
        bookingId: row.id,
        quantity: row.quantity,
        userId: row.user_id,
      }),
    );
    await waitlist.promoted(job.id, data.eventId, promoted, job.attemptsStarted > 1);
    deps.metrics.cancellations.inc();
    deps.logger.info('cancellation applied', { bookingId: row.id, eventId: row.event_id, jobId: job.id });
    await deps.publish({ type: 'cancellation', booking: toBookingView(row) });
  }

  /** Reads the payloads of jobs taken behind the one in hand; a job that cannot be read is failed for good. */
  async function readFollowing(
    taken: Job[],
    following: FollowingJobs,
    eventId: string,
  ): Promise<Array<{ job: Job; requests: BookingRequestData[] }>> {
    const read: Array<{ job: Job; requests: BookingRequestData[] }> = [];
    for (const job of taken) {
      const parsed = bookJobData.safeParse(job.data);
      if (parsed.success && parsed.data.eventId === eventId) {
        read.push({ job, requests: parsed.data.requests });
        continue;
      }
      deps.logger.error('job payload is invalid; dropped', { jobId: job.id, eventId });
      await following.fail(job, new UnrecoverableError('invalid job payload'));
    }
    return read;
  }

  /**
   * Decides a booking job together with the booking jobs queued behind it, in queue order, and goes
   * on with the jobs queued behind those while there are any (up to MAX_BATCHES_PER_JOB batches).
   * The next batch is taken while the last one commits, and decided while the last one's gate
   * settlement, decisions and job completions are on their way. Transactions follow one another in
   * queue order, and so do the settlements (each waits for the one before); a transaction overlaps
   * at most one settlement, and the gate is rebuilt only between two transactions, with every
   * settlement done, never during one.
   */
  async function book(job: Job, requests: BookingRequestData[], eventId: string, epoch: number, following?: FollowingJobs): Promise<void> {
    // Jobs taken from behind the one in hand and read, their locks kept fresh until `release`.
    const takeLocked = async (
      room: number,
    ): Promise<{ jobs: Job[]; others: Array<{ job: Job; requests: BookingRequestData[] }>; release: () => void }> => {
      if (!following) return { jobs: [], others: [], release: () => {} };
      const jobs = await following.take(room);
      const release = following.keepLocked(jobs);
      try {
        return { jobs, others: jobs.length > 0 ? await readFollowing(jobs, following, eventId) : [], release };
      } catch (err) {
        release();
        throw err;
      }
    };
    // The next batch, taken while the last one commits.
    let prefetched: ReturnType<typeof takeLocked> | undefined;
    // The last batch's gate settlement, and the one before it (awaited before the next transaction).
    let settled: Promise<void> = Promise.resolve();
    let settledBefore: Promise<void> = Promise.resolve();
    let committed = false;
    // What the batches committed so far still have to send (decisions, completions).
    let behind: Promise<unknown> = Promise.resolve();
    let failed = false;
    try {
      for (let round = 0; round < MAX_BATCHES_PER_JOB; round++) {
        const own = round === 0 ? [{ job, requests }] : [];
        const room = MAX_REQUESTS_PER_BATCH - (round === 0 ? requests.length : 0);
        // Stop taking more once the lease is gone or shutdown is forced; the jobs in hand still finish
        // (jobs taken ahead and not decided go back to the queue once their locks lapse).
        if (round > 0 && (deps.signal.aborted || deps.epochOf(eventId) !== epoch)) break;
        const { jobs: taken, others, release } = await (prefetched ?? takeLocked(room));
        prefetched = undefined;
        if (round > 0 && taken.length === 0) {
          release();
          break;
        }
        try {
          const batch = [...own, ...others].sort((a, b) => byQueueOrder(a.job, b.job)).flatMap((x) => x.requests);
          await settledBefore;
          if (batch.length === 0) {
            release();
            continue;
          }
          // Admitted while the gate was missing: Redis may have lost requests accepted before these.
          const ungated = batch.filter((r) => !r.gated).map((r) => Date.parse(r.acceptedAt));
          if (ungated.length > 0) {
            await settled;
            await recover(job.id, eventId, new Date(Math.min(...ungated)), new Set(batch.map((r) => r.requestId)), epoch);
          } else if (round > 0 && deps.keeper.rebuildDue(eventId)) {
            // A rebuild reads Postgres and rewrites the gate: only with no decision in flight. A drift
            // that the last settlement finds is seen here one batch later (that settlement is still
            // running now); Postgres decides meanwhile, so the door is off for one batch more at most.
            await settled;
            await deps.keeper.rebuildIfDue(eventId, job.id);
          }
          // The next batch is taken from the queue while this one commits, so that Postgres goes
          // from one transaction to the next without waiting for Redis in between.
          if (following && round + 1 < MAX_BATCHES_PER_JOB) {
            prefetched = takeLocked(MAX_REQUESTS_PER_BATCH);
            prefetched.catch(() => {});
          }
          const sent = announce(await commit(job.id, eventId, batch, epoch), { after: settled, rebuild: false });
          committed = true;
          settledBefore = settled;
          settled = sent.settled;
          const done = Promise.all([behind, sent.settled, sent.published]).then(async () => {
            if (following && others.length > 0) await following.complete(others.map((x) => x.job));
          });
          behind = done.finally(release);
          // Kept from being reported unhandled while the next batch is taken; awaited below.
          settled.catch(() => {});
          behind.catch(() => {});
        } catch (err) {
          release();
          throw err;
        }
      }
      // A rebuild that came due (or was owed) during the last transactions, now that all are settled;
      // not once the lease is gone or shutdown is forced (the event's next worker rebuilds it).
      if (committed && !deps.signal.aborted && deps.epochOf(eventId) === epoch) {
        await behind;
        await deps.keeper.rebuildIfDue(eventId, job.id);
      }
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      // Taken ahead and not decided (the lease went, or shutdown): their locks lapse and BullMQ puts
      // them back in the queue, as it does a dead worker's.
      void prefetched?.then(
        ({ release }) => release(),
        () => {},
      );
      // What was committed is still sent; an error of the batch in hand is the one reported. On a
      // failure `behind` gives up at the first error: the last settlement (which follows every
      // earlier one) is awaited too, so that none is still running once the event's next job starts.
      if (failed) await Promise.allSettled([settled, behind]);
      else await behind;
    }
  }

  return async (job, following) => {
    const parsed = jobData.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error('job payload is invalid; dropped', { jobId: job.id, issues: parsed.error.issues });
      throw new UnrecoverableError('invalid job payload');
    }
    const data = parsed.data;
    // Decide only under a lease on the event; its epoch fences every write in Postgres.
    const epoch = deps.epochOf(data.eventId);
    if (epoch === undefined) return handBack();
    try {
      switch (data.kind) {
        case 'book':
          await book(job, data.requests, data.eventId, epoch, following);
          return;
        case 'cancel':
          await cancel(job, data, epoch);
          return;
        case 'recover':
          await recover(job.id, data.eventId, new Date(), new Set(), epoch);
          return;
        case 'confirm':
          await holds.confirm(job, data, epoch, following);
          return;
        case 'expire':
          await holds.expire(job, data, epoch);
          return;
        case 'withdraw':
          await waitlist.withdraw(job, data, epoch);
          return;
      }
    } catch (err) {
      if (!(err instanceof StaleLeaseError)) throw err;
      deps.logger.warn('lease on event taken over; handing the job back', { eventId: data.eventId, jobId: job.id, epoch });
      deps.onFenced(data.eventId);
      return handBack();
    }
  };
}
