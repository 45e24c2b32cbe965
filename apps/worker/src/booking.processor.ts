import { cancelBooking, type Db, decideBookingRequest, toBookingView } from '@booking/db';
import { type BookingRequestView, newBookingId } from '@booking/domain';
import type { Logger } from '@booking/observability';
import { type BookJobData, type CancelJobData, type DecisionMessage, jobData } from '@booking/queue';
import { type Job, UnrecoverableError } from 'bullmq';

import type { GateKeeper } from './gate-keeper.ts';
import { untilDone } from './retry.ts';

export interface ProcessorDeps {
  db: Db;
  logger: Logger;
  gate: GateKeeper;
  /** Publishes a message once the decision it carries is durable. */
  publish: (message: DecisionMessage) => Promise<void>;
  /** Aborted on forced shutdown. */
  signal: AbortSignal;
}

/** Builds the BullMQ processor that decides one job of an event's queue. */
export function createBookingProcessor(deps: ProcessorDeps): (job: Job) => Promise<void> {
  return async (job) => {
    const parsed = jobData.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error('job payload is invalid; dropped', { jobId: job.id, issues: parsed.error.issues });
      throw new UnrecoverableError('invalid job payload');
    }
    const data = parsed.data;
    const message = data.kind === 'book' ? await decide(deps, job, data) : await cancel(deps, job, data);
    await deps.publish(message);
  };
}

async function decide(deps: ProcessorDeps, job: Job, data: BookJobData): Promise<DecisionMessage> {
  const started = performance.now();
  const decision = await untilDone(
    () => decideBookingRequest(deps.db, { ...data, bookingId: newBookingId() }),
    deps.signal,
    (err, attempt) => deps.logger.warn('database unavailable; retrying decision', retryFields(job, data.eventId, err, attempt)),
  );
  const decisionMs = performance.now() - started;
  await untilDone(
    () =>
      deps.gate.afterDecision({
        jobId: job.id ?? data.requestId,
        eventId: data.eventId,
        requestId: data.requestId,
        userId: data.userId,
        quantity: data.quantity,
        status: decision.status,
        replayed: decision.replayed,
        decisionMs,
      }),
    deps.signal,
    (err, attempt) => deps.logger.warn('database unavailable; retrying gate settlement', retryFields(job, data.eventId, err, attempt)),
  );
  const request: BookingRequestView = {
    requestId: data.requestId,
    eventId: data.eventId,
    userId: data.userId,
    quantity: data.quantity,
    status: decision.status,
    ...(decision.reason ? { reason: decision.reason } : {}),
    ...(decision.bookingId ? { bookingId: decision.bookingId } : {}),
    acceptedAt: new Date(data.acceptedAt).toISOString(),
    decidedAt: decision.decidedAt.toISOString(),
  };
  deps.logger.info('decided', {
    requestId: data.requestId,
    eventId: data.eventId,
    jobId: job.id,
    status: decision.status,
    reason: decision.reason ?? undefined,
    replayed: decision.replayed,
    durationMs: Math.round(decisionMs * 100) / 100,
  });
  return { type: 'decision', request };
}

async function cancel(deps: ProcessorDeps, job: Job, data: CancelJobData): Promise<DecisionMessage> {
  const row = await untilDone(
    () => cancelBooking(deps.db, data.bookingId),
    deps.signal,
    (err, attempt) => deps.logger.warn('database unavailable; retrying cancellation', retryFields(job, data.eventId, err, attempt)),
  );
  if (!row) {
    deps.logger.error('cancellation names no booking; dropped', { jobId: job.id, eventId: data.eventId });
    throw new UnrecoverableError('booking not found');
  }
  await untilDone(
    () =>
      deps.gate.afterCancellation({
        jobId: job.id ?? data.bookingId,
        eventId: row.event_id,
        bookingId: row.id,
        quantity: row.quantity,
        userId: row.user_id,
      }),
    deps.signal,
    (err, attempt) => deps.logger.warn('database unavailable; retrying gate settlement', retryFields(job, data.eventId, err, attempt)),
  );
  deps.logger.info('cancellation applied', { bookingId: row.id, eventId: row.event_id, jobId: job.id });
  return { type: 'cancellation', booking: toBookingView(row) };
}

function retryFields(job: Job, eventId: string, err: unknown, attempt: number): Record<string, unknown> {
  return { jobId: job.id, eventId, attempt, error: err instanceof Error ? err.message : String(err) };
}
