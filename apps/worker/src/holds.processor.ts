import { confirmBookings, expireHolds, toBookingView, withPromotion } from '@booking/db';
import { type ConfirmJobData, confirmJobData, type ExpireJobData } from '@booking/queue';
import { type Job, UnrecoverableError } from 'bullmq';

import type { Retrying } from './batch-decider.ts';
import type { FollowingJobs, ProcessorDeps } from './processor.types.ts';
import type { waitlistSteps } from './waitlist.processor.ts';

/** Most holds one transaction expires; an expiry job goes on in rounds of this many. */
export const MAX_HOLDS_PER_EXPIRY = 1_000;
/** Most checkouts one transaction applies (the one in hand and those queued right behind it). */
const MAX_CONFIRMS_PER_TRANSACTION = 1_000;
/** Most rounds one expiry job does before it is completed (the rest are found again within a second). */
const MAX_EXPIRY_ROUNDS = 20;

/**
 * Checkout and expiry of held bookings, run in the event's queue like every other change of its
 * seats: what PostgreSQL decides under the event's row lock (confirm_booking, expire_holds) is final,
 * and the seats that come back are given to the admission gate before the job completes, so the door
 * never turns a request away while they are free.
 */
export function holdSteps(deps: ProcessorDeps, retrying: Retrying, waitlist: ReturnType<typeof waitlistSteps>) {
  /** The expired hold's seats back at the gate (once: the gate remembers the booking ids it took back). */
  const giveBack = (job: Job, eventId: string, hold: { id: string; quantity: number; user_id: string }) =>
    retrying(job.id, eventId, 'gate settlement', () =>
      deps.keeper.afterCancellation({
        jobId: job.id ?? hold.id,
        eventId,
        bookingId: hold.id,
        quantity: hold.quantity,
        userId: hold.user_id,
      }),
    );

  /** Reads the checkouts taken behind the one in hand; one that cannot be read is failed for good. */
  async function readFollowing(
    taken: Job[],
    following: FollowingJobs,
    eventId: string,
  ): Promise<Array<{ job: Job; data: ConfirmJobData }>> {
    const read: Array<{ job: Job; data: ConfirmJobData }> = [];
    for (const job of taken) {
      const parsed = confirmJobData.safeParse(job.data);
      if (parsed.success && parsed.data.eventId === eventId) read.push({ job, data: parsed.data });
      else {
        deps.logger.error('job payload is invalid; dropped', { jobId: job.id, eventId });
        await following.fail(job, new UnrecoverableError('invalid job payload'));
      }
    }
    return read;
  }

  /**
   * Applies a checkout together with the checkouts queued right behind it (the API queues them at
   * the front, so that a payment does not wait behind a sale's admissions for longer than its hold),
   * in one transaction, in the order they would have been processed one by one.
   */
  async function confirm(job: Job, data: ConfirmJobData, epoch: number, following?: FollowingJobs): Promise<void> {
    const taken = following ? await following.take(MAX_CONFIRMS_PER_TRANSACTION - 1, 'confirm') : [];
    const release = following?.keepLocked(taken) ?? (() => {});
    try {
      const others = taken.length > 0 && following ? await readFollowing(taken, following, data.eventId) : [];
      const all = [{ job, data }, ...others];
      // A hold found expired gives its seats back: the waiting list is served in the same transaction.
      const { result: rows, promoted } = await retrying(job.id, data.eventId, 'checkout', () =>
        withPromotion(
          deps.db,
          data.eventId,
          epoch,
          (trx) =>
            confirmBookings(
              trx,
              all.map((x) => x.data.bookingId),
              epoch,
            ),
          (found) => found.some((r) => r.status === 'expired'),
        ),
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      // Also when a job is a redelivery and the hold expired in its first run: the gate may not have
      // been told then.
      const expired = rows.filter((r) => r.status === 'expired');
      for (const row of expired) await giveBack(job, row.event_id, row);
      if (expired.length > 0)
        await waitlist.promoted(
          job.id,
          data.eventId,
          promoted,
          all.some((x) => x.job.attemptsStarted > 1),
        );
      for (const row of rows) {
        if (!row.changed) continue;
        if (row.status === 'confirmed') deps.metrics.holdsConfirmed.inc();
        else deps.metrics.holdsExpired.inc();
      }
      deps.logger.info('checkouts applied', { eventId: data.eventId, jobId: job.id, checkouts: all.length, expired: expired.length });
      await Promise.all(rows.map((row) => deps.publish({ type: 'confirmation', booking: toBookingView(row) })));
      const missing = others.filter((x) => !byId.has(x.data.bookingId));
      for (const x of missing) {
        deps.logger.error('checkout names no booking; dropped', { jobId: x.job.id, eventId: data.eventId });
        await following!.fail(x.job, new UnrecoverableError('booking not found'));
      }
      if (following && others.length > missing.length)
        await following.complete(others.filter((x) => byId.has(x.data.bookingId)).map((x) => x.job));
      if (!byId.has(data.bookingId)) {
        deps.logger.error('checkout names no booking; dropped', { jobId: job.id, eventId: data.eventId });
        throw new UnrecoverableError('booking not found');
      }
    } finally {
      release();
    }
  }

  async function expire(job: Job, data: ExpireJobData, epoch: number): Promise<void> {
    // A redelivered job may have expired holds whose seats the gate never got: rebuild it from PostgreSQL.
    if (job.attemptsStarted > 1) await retrying(job.id, data.eventId, 'gate rebuild', () => deps.keeper.rebuildNow(data.eventId, job.id));
    await waitlist.close(job.id, data.eventId, epoch);
    for (let round = 0; round < MAX_EXPIRY_ROUNDS; round++) {
      const { result: expired, promoted } = await retrying(job.id, data.eventId, 'expiry', () =>
        withPromotion(
          deps.db,
          data.eventId,
          epoch,
          (trx) => expireHolds(trx, data.eventId, epoch, MAX_HOLDS_PER_EXPIRY),
          (r) => r.length > 0,
        ),
      );
      for (const hold of expired) await giveBack(job, data.eventId, hold);
      if (expired.length > 0) {
        await waitlist.promoted(job.id, data.eventId, promoted, false);
        deps.metrics.holdsExpired.inc(expired.length);
        const late = Math.max(...expired.map((h) => h.expired_at.getTime() - h.expires_at.getTime()));
        deps.logger.info('holds expired', { eventId: data.eventId, jobId: job.id, expired: expired.length, latestMs: late });
      }
      if (expired.length < MAX_HOLDS_PER_EXPIRY || deps.signal.aborted) return;
    }
  }

  return { confirm, expire };
}
