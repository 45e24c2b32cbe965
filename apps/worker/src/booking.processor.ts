import { type Db, cancelBooking, decideBookingRequest, listUndecidedAccepted, toBookingView } from '@booking/db';
import { type BookingRequestView, newBookingId } from '@booking/domain';
import type { Logger, WorkerMetrics } from '@booking/observability';
import { type BookJobData, type CancelJobData, type DecisionMessage, jobData } from '@booking/queue';
import { type Job, UnrecoverableError } from 'bullmq';

import type { GateKeeper } from './gate-keeper.ts';
import { untilDone } from './retry.ts';

export interface ProcessorDeps {
  db: Db;
  logger: Logger;
  metrics: WorkerMetrics;
  gate: GateKeeper;
  /** Publishes a message once the decision it carries is durable. */
  publish: (message: DecisionMessage) => Promise<void>;
  /** Whether the event's queue still holds a job (pending or in progress). */
  jobExists: (eventId: string, jobId: string) => Promise<boolean>;
  /** Aborted on forced shutdown. */
  signal: AbortSignal;
}

type BookingInput = Omit<BookJobData, 'kind' | 'gated' | 'correlationId'>;

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

  /** Decides one request, settles the gate, publishes the decision. */
  async function decide(job: Job, input: BookingInput, correlationId?: string): Promise<void> {
    const started = performance.now();
    const acceptedAt = Date.parse(input.acceptedAt);
    deps.metrics.queueWaitSeconds.observe(Math.max(0, Date.now() - acceptedAt) / 1000);
    const decision = await retrying(job, input.eventId, 'decision', () =>
      decideBookingRequest(deps.db, { ...input, bookingId: newBookingId() }),
    );
    const decisionMs = performance.now() - started;
    if (!decision.replayed) {
      deps.metrics.decisionsPerTransaction.observe(1);
      deps.metrics.decisionLatencySeconds.observe(Math.max(0, decision.decidedAt.getTime() - acceptedAt) / 1000);
      if (decision.status === 'confirmed') deps.metrics.success.inc();
      else deps.metrics.conflicts.inc({ reason: decision.reason ?? 'UNKNOWN' });
    }
    await retrying(job, input.eventId, 'gate settlement', () =>
      deps.gate.afterDecision({
        jobId: job.id ?? input.requestId,
        eventId: input.eventId,
        requestId: input.requestId,
        userId: input.userId,
        quantity: input.quantity,
        status: decision.status,
        replayed: decision.replayed,
        decisionMs,
      }),
    );
    const request: BookingRequestView = {
      requestId: input.requestId,
      eventId: input.eventId,
      userId: input.userId,
      quantity: input.quantity,
      status: decision.status,
      ...(decision.reason ? { reason: decision.reason } : {}),
      ...(decision.bookingId ? { bookingId: decision.bookingId } : {}),
      acceptedAt: new Date(input.acceptedAt).toISOString(),
      decidedAt: decision.decidedAt.toISOString(),
    };
    deps.logger.info('decided', {
      requestId: correlationId,
      eventId: input.eventId,
      jobId: input.requestId,
      status: decision.status,
      reason: decision.reason ?? undefined,
      replayed: decision.replayed,
      durationMs: Math.round(decisionMs * 100) / 100,
    });
    await deps.publish({ type: 'decision', request });
  }

  /**
   * Decides, oldest first, the journalled requests accepted up to `until` that Redis no longer holds
   * (it lost them in a flush or a restart), then rebuilds the gate. Runs in the event's queue, so
   * nothing else of the event is being decided meanwhile.
   */
  const lastRecovery = new Map<string, number>();

  async function recover(job: Job, eventId: string, until: Date, skip: string | undefined): Promise<void> {
    // A recovery since this request was accepted has already covered everything accepted before it.
    if ((lastRecovery.get(eventId) ?? -Infinity) >= until.getTime()) return;
    lastRecovery.set(eventId, Date.now());
    const accepted = await retrying(job, eventId, 'recovery', () => listUndecidedAccepted(deps.db, eventId, until));
    let recovered = 0;
    for (const row of accepted) {
      if (row.id === skip || (await deps.jobExists(eventId, row.id))) continue;
      await decide(job, {
        requestId: row.id,
        eventId,
        userId: row.userId,
        quantity: row.quantity,
        acceptedAt: row.acceptedAt.toISOString(),
      });
      deps.metrics.recovered.inc();
      recovered++;
    }
    await retrying(job, eventId, 'gate rebuild', () => deps.gate.rebuildNow(eventId, job.id ?? ''));
    deps.logger.log(recovered > 0 ? 'warn' : 'info', 'recovery done', { eventId, jobId: job.id, recovered });
  }

  async function cancel(job: Job, data: CancelJobData): Promise<void> {
    const row = await retrying(job, data.eventId, 'cancellation', () => cancelBooking(deps.db, data.bookingId));
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
    switch (data.kind) {
      case 'book': {
        // Admitted while the gate was missing: Redis may have lost requests accepted before this one.
        if (!data.gated) await recover(job, data.eventId, new Date(data.acceptedAt), data.requestId);
        const { kind: _kind, gated: _gated, correlationId, ...input } = data;
        await decide(job, input, correlationId);
        return;
      }
      case 'cancel':
        await cancel(job, data);
        return;
      case 'recover':
        await recover(job, data.eventId, new Date(), undefined);
        return;
    }
  };
}
