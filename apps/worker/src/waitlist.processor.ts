import { rejectWaitlisted, type WaitlistOutcome } from '@booking/db';
import type { BookingRequestView } from '@booking/domain';
import type { WithdrawJobData } from '@booking/queue';
import type { Job } from 'bullmq';

import type { Retrying } from './batch-decider.ts';
import type { ProcessorDeps } from './processor.types.ts';

/** A waiting-list entry's new state as the long-polls and `GET /v1/booking-requests/:id` show it. */
function view(
  eventId: string,
  o: WaitlistOutcome,
  status: 'confirmed' | 'rejected',
  reason?: 'WITHDRAWN' | 'SALES_CLOSED',
): BookingRequestView {
  return {
    requestId: o.request_id,
    eventId,
    userId: o.user_id,
    quantity: o.quantity,
    status,
    ...(reason ? { reason } : {}),
    ...(o.booking_id ? { bookingId: o.booking_id } : {}),
    acceptedAt: o.accepted_at.toISOString(),
    decidedAt: o.decided_at.toISOString(),
  };
}

/**
 * The waiting list's changes, run in the event's queue: promotions (made in the transaction that gave
 * seats back: a cancellation, an expired hold), withdrawals, and its closing when the sale ends. Each
 * is decided in PostgreSQL under the event's row lock; the gate is then rebuilt from PostgreSQL
 * (promotions take seats the gate was just given back) and the new states are published for the
 * long-polls.
 */
export function waitlistSteps(deps: ProcessorDeps, retrying: Retrying) {
  /**
   * After the waiting list got seats (`withPromotion`, in the transaction that gave them back): the
   * gate is rebuilt from PostgreSQL, since promotions take seats the gate was just given back, and the
   * new states are published. `redelivered`: the job ran before and may have promoted without telling
   * the gate, so the gate is rebuilt even when nothing is promoted now.
   */
  async function promoted(jobId: string | undefined, eventId: string, outcomes: WaitlistOutcome[], redelivered: boolean): Promise<void> {
    if (outcomes.length > 0 || redelivered) {
      // Entries left the list: it has room again, and the door must not say otherwise.
      await retrying(jobId, eventId, 'waiting list room', () => deps.keeper.markWaitlistFull(eventId, false));
      await retrying(jobId, eventId, 'gate rebuild', () => deps.keeper.rebuildNow(eventId, jobId));
    }
    if (outcomes.length === 0) return;
    deps.metrics.waitlistPromoted.inc(outcomes.length);
    deps.logger.info('waiting list promoted', { eventId, jobId, promoted: outcomes.length });
    await deps.publish({ type: 'decisions', requests: outcomes.map((o) => view(eventId, o, 'confirmed')) });
  }

  /** Takes a request off the waiting list; a request not on it is left as it is (the API answers 409). */
  async function withdraw(job: Job, data: WithdrawJobData, epoch: number): Promise<void> {
    const rejected = await retrying(job.id, data.eventId, 'withdrawal', () =>
      rejectWaitlisted(deps.db, data.eventId, data.requestId, 'WITHDRAWN', epoch),
    );
    if (rejected.length > 0 || job.attemptsStarted > 1)
      await retrying(job.id, data.eventId, 'waiting list room', () => deps.keeper.markWaitlistFull(data.eventId, false));
    deps.logger.info('withdrawal applied', { eventId: data.eventId, jobId: job.id, withdrawn: rejected.length });
    // Published either way: the API waits for it to answer, with what PostgreSQL has.
    await deps.publish({ type: 'withdrawal', requestId: data.requestId });
    if (rejected.length > 0)
      await deps.publish({ type: 'decisions', requests: rejected.map((o) => view(data.eventId, o, 'rejected', 'WITHDRAWN')) });
  }

  /** Rejects every entry of an event whose sale has ended (`SALES_CLOSED`). */
  async function close(jobId: string | undefined, eventId: string, epoch: number): Promise<void> {
    const rejected = await retrying(jobId, eventId, 'waiting-list closing', () =>
      rejectWaitlisted(deps.db, eventId, null, 'SALES_CLOSED', epoch),
    );
    if (rejected.length === 0) return;
    deps.logger.info('waiting list closed with the sale', { eventId, jobId, rejected: rejected.length });
    await deps.publish({ type: 'decisions', requests: rejected.map((o) => view(eventId, o, 'rejected', 'SALES_CLOSED')) });
  }

  return { promoted, withdraw, close };
}
