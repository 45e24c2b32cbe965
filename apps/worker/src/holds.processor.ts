import { confirmBooking, expireHolds, toBookingView, withPromotion } from '@booking/db';
import type { ConfirmJobData, ExpireJobData } from '@booking/queue';
import { type Job, UnrecoverableError } from 'bullmq';

import type { Retrying } from './batch-decider.ts';
import type { ProcessorDeps } from './booking.processor.ts';
import type { waitlistSteps } from './waitlist.processor.ts';

/** Most holds one transaction expires; an expiry job goes on in rounds of this many. */
export const MAX_HOLDS_PER_EXPIRY = 1_000;
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
      deps.gate.afterCancellation({ jobId: job.id ?? hold.id, eventId, bookingId: hold.id, quantity: hold.quantity, userId: hold.user_id }),
    );

  async function confirm(job: Job, data: ConfirmJobData, epoch: number): Promise<void> {
    // A hold found expired gives its seats back: the waiting list is served in the same transaction.
    const { result: row, promoted } = await retrying(job.id, data.eventId, 'checkout', () =>
      withPromotion(deps.db, data.eventId, epoch, (trx) => confirmBooking(trx, data.bookingId, epoch), (r) => r?.status === 'expired'),
    );
    if (!row) {
      deps.logger.error('checkout names no booking; dropped', { jobId: job.id, eventId: data.eventId });
      throw new UnrecoverableError('booking not found');
    }
    // Also when this job is a redelivery and the hold expired in its first run: the gate may not have
    // been told then.
    if (row.status === 'expired') {
      await giveBack(job, row.event_id, row);
      await waitlist.promoted(job.id, row.event_id, promoted, job.attemptsStarted > 1);
    }
    if (row.changed) {
      if (row.status === 'confirmed') deps.metrics.holdsConfirmed.inc();
      else deps.metrics.holdsExpired.inc();
    }
    deps.logger.info('checkout applied', { bookingId: row.id, eventId: row.event_id, jobId: job.id, status: row.status });
    await deps.publish({ type: 'confirmation', booking: toBookingView(row) });
  }

  async function expire(job: Job, data: ExpireJobData, epoch: number): Promise<void> {
    // A redelivered job may have expired holds whose seats the gate never got: rebuild it from PostgreSQL.
    if (job.attemptsStarted > 1) await retrying(job.id, data.eventId, 'gate rebuild', () => deps.gate.rebuildNow(data.eventId, job.id ?? ''));
    await waitlist.close(job.id, data.eventId, epoch);
    for (let round = 0; round < MAX_EXPIRY_ROUNDS; round++) {
      const { result: expired, promoted } = await retrying(job.id, data.eventId, 'expiry', () =>
        withPromotion(deps.db, data.eventId, epoch, (trx) => expireHolds(trx, data.eventId, epoch, MAX_HOLDS_PER_EXPIRY), (r) => r.length > 0),
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
