import {
  type Db,
  cancelBooking,
  decideBookingBatch,
  isStaleLeaseError,
  listUndecidedAccepted,
  toBookingView,
} from '@booking/db';
import { type BookingRequestView, newBookingId } from '@booking/domain';
import type { Logger, WorkerMetrics } from '@booking/observability';
import { type BookingRequestData, type CancelJobData, type DecisionMessage, jobData } from '@booking/queue';
import { type Job, UnrecoverableError } from 'bullmq';

import type { GateKeeper } from './gate-keeper.ts';
import { untilDone } from './retry.ts';

export interface ProcessorDeps {
  db: Db;
  logger: Logger;
  metrics: WorkerMetrics;
  gate: GateKeeper;
  /** Publishes a message once the decisions it carries are durable. */
  publish: (message: DecisionMessage) => Promise<void>;
  /** Aborted on forced shutdown. */
  signal: AbortSignal;
  /** The fencing epoch of this worker's lease on the event; undefined when it holds none. */
  epochOf: (eventId: string) => number | undefined;
  /** Postgres refused the epoch: another worker has taken the event over. */
  onFenced: (eventId: string) => void;
}

/** Never settles: the job is left to expire and be taken over by the event's new worker. */
function handBack(): Promise<never> {
  return new Promise<never>(() => {});
}

/** Builds the BullMQ processor that decides one job of an event's queue. */
export function createBookingProcessor(deps: ProcessorDeps): (job: Job) => Promise<void> {
  const retrying = <T>(job: Job, eventId: string, what: string, fn: () => Promise<T>) =>
    untilDone(fn, deps.signal, (err, attempt) => {
      deps.metrics.dbRetries.inc();
      deps.logger.warn(`database unavailable; retrying ${what}`, {
        jobId: job.id,
        eventId,
        attempt,
        error: err instanceof Error ? err.message : String(err),
      });
    });

  /**
   * Decides requests of one event in one transaction, in order (group commit), settles the gate and
   * publishes the decisions, only once they are durable.
   */
  async function decide(job: Job, eventId: string, requests: BookingRequestData[], epoch: number): Promise<void> {
    const started = performance.now();
    const now = Date.now();
    for (const r of requests) deps.metrics.queueWaitSeconds.observe(Math.max(0, now - Date.parse(r.acceptedAt)) / 1000);
    const decisions = await retrying(job, eventId, 'decision', () =>
      decideBookingBatch(
        deps.db,
        eventId,
        requests.map((r) => ({ ...r, bookingId: newBookingId() })),
        epoch,
      ),
    );
    const decisionMs = performance.now() - started;
    const views: BookingRequestView[] = [];
    let fresh = 0;
    for (const r of requests) {
      const d = decisions.get(r.requestId)!;
      if (!d.replayed) {
        fresh++;
        deps.metrics.decisionLatencySeconds.observe(Math.max(0, d.decidedAt.getTime() - Date.parse(r.acceptedAt)) / 1000);
        if (d.status === 'confirmed') deps.metrics.success.inc();
        else deps.metrics.conflicts.inc({ reason: d.reason ?? 'UNKNOWN' });
      }
      views.push({
        requestId: r.requestId,
        eventId,
        userId: r.userId,
        quantity: r.quantity,
        status: d.status,
        ...(d.reason ? { reason: d.reason } : {}),
        ...(d.bookingId ? { bookingId: d.bookingId } : {}),
        acceptedAt: new Date(r.acceptedAt).toISOString(),
        decidedAt: d.decidedAt.toISOString(),
      });
      deps.logger.info('decided', {
        requestId: r.correlationId,
        eventId,
        jobId: r.requestId,
        status: d.status,
        reason: d.reason ?? undefined,
        replayed: d.replayed,
      });
    }
    if (fresh > 0) deps.metrics.decisionsPerTransaction.observe(fresh);
    await retrying(job, eventId, 'gate settlement', () =>
      deps.gate.afterDecisions(
        eventId,
        job.id ?? '',
        requests.map((r) => {
          const d = decisions.get(r.requestId)!;
          return { requestId: r.requestId, status: d.status, quantity: r.quantity, userId: r.userId, replayed: d.replayed };
        }),
        decisionMs,
      ),
    );
    await deps.publish({ type: 'decisions', requests: views });
  }

  const lastRecovery = new Map<string, number>();

  /**
   * Decides, oldest first, the journalled requests accepted up to `until` that Redis no longer holds
   * (it lost them in a flush or a restart), then rebuilds the gate. Runs in the event's queue, so
   * nothing else of the event is being decided meanwhile.
   */
  async function recover(job: Job, eventId: string, until: Date, skip: Set<string>, epoch: number): Promise<void> {
    // A recovery since this request was accepted has already covered everything accepted before it.
    if ((lastRecovery.get(eventId) ?? -Infinity) >= until.getTime()) return;
    lastRecovery.set(eventId, Date.now());
    const accepted = await retrying(job, eventId, 'recovery', () => listUndecidedAccepted(deps.db, eventId, until));
    // A journal row is written only after its job was queued: undecided and not in the queue is lost.
    const queued = accepted.length > 0 ? await deps.gate.queuedRequestIds(eventId) : new Set<string>();
    const lost: BookingRequestData[] = [];
    for (const row of accepted) {
      if (skip.has(row.id) || queued.has(row.id)) continue;
      lost.push({
        requestId: row.id,
        userId: row.userId,
        quantity: row.quantity,
        acceptedAt: row.acceptedAt.toISOString(),
        gated: true,
      });
    }
    if (lost.length > 0) {
      await decide(job, eventId, lost, epoch);
      deps.metrics.recovered.inc(lost.length);
    }
    await retrying(job, eventId, 'gate rebuild', () => deps.gate.rebuildNow(eventId, job.id ?? ''));
    deps.logger.log(lost.length > 0 ? 'warn' : 'info', 'recovery done', { eventId, jobId: job.id, recovered: lost.length });
  }

  async function cancel(job: Job, data: CancelJobData, epoch: number): Promise<void> {
    const row = await retrying(job, data.eventId, 'cancellation', () => cancelBooking(deps.db, data.bookingId, epoch));
    if (!row) {
      deps.logger.error('cancellation names no booking; dropped', { jobId: job.id, eventId: data.eventId });
      throw new UnrecoverableError('booking not found');
    }
    await retrying(job, data.eventId, 'gate settlement', () =>
      deps.gate.afterCancellation({
        jobId: job.id ?? data.bookingId,
        eventId: row.event_id,
        bookingId: row.id,
        quantity: row.quantity,
        userId: row.user_id,
      }),
    );
    deps.metrics.cancellations.inc();
    deps.logger.info('cancellation applied', { bookingId: row.id, eventId: row.event_id, jobId: job.id });
    await deps.publish({ type: 'cancellation', booking: toBookingView(row) });
  }

  return async (job) => {
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
        case 'book': {
          // Admitted while the gate was missing: Redis may have lost requests accepted before these.
          const ungated = data.requests.filter((r) => !r.gated).map((r) => Date.parse(r.acceptedAt));
          if (ungated.length > 0) {
            const batch = new Set(data.requests.map((r) => r.requestId));
            await recover(job, data.eventId, new Date(Math.min(...ungated)), batch, epoch);
          }
          await decide(job, data.eventId, data.requests, epoch);
          return;
        }
        case 'cancel':
          await cancel(job, data, epoch);
          return;
        case 'recover':
          await recover(job, data.eventId, new Date(), new Set(), epoch);
          return;
      }
    } catch (err) {
      if (!isStaleLeaseError(err)) throw err;
      deps.logger.warn('lease on event taken over; handing the job back', { eventId: data.eventId, jobId: job.id, epoch });
      deps.onFenced(data.eventId);
      return handBack();
    }
  };
}
