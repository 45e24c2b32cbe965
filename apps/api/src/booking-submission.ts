import { setTimeout as sleep } from 'node:timers/promises';

import { AppError, type CreateBookingBody, newRequestId } from '@booking/domain';
import { type AdmissionGate, type BookingRequestData, type RedisClient, idempotencyKeyName } from '@booking/queue';

import type { AcceptedJournal } from './accepted-journal.ts';
import type { EventInfo } from './event-cache.ts';
import { type IdempotencyRecord, bodyFingerprint, parseRecord, sha256 } from './idempotency.ts';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './middleware/problem.ts';
import type { QueueRegistry } from './queue-registry.ts';

/** The answer to a submission: `202` with the pending request, or an error to send as problem+json. */
export type Submission = { status: 202; body: PendingBody } | { status: 409; error: AppError };

export interface PendingBody {
  requestId: string;
  status: 'pending';
  eventId: string;
  userId: string;
  quantity: number;
  position: number;
}

export interface SubmissionDeps {
  gate: AdmissionGate;
  queues: QueueRegistry;
  redis: RedisClient;
  prefix: string;
  idempotencyTtlSeconds: number;
  journal: AcceptedJournal;
}

function soldOut(): AppError {
  return new AppError('SOLD_OUT', 'not enough seats are left for this request');
}

function salesWindowError(event: EventInfo, now: number): AppError | undefined {
  if (event.salesStartAt !== null && now < event.salesStartAt) {
    return new AppError('SALES_NOT_OPEN', `sales open at ${new Date(event.salesStartAt).toISOString()}`);
  }
  if (event.salesEndAt !== null && now >= event.salesEndAt) {
    return new AppError('SALES_CLOSED', `sales closed at ${new Date(event.salesEndAt).toISOString()}`);
  }
  return undefined;
}

function unavailable(detail: string): AppError {
  return new AppError('UNAVAILABLE', detail, { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS });
}

/**
 * Accepts a booking request: gate check (one Redis round trip), then the job on the event's queue.
 * With an Idempotency-Key the same key and body always get the first answer, also when copies race.
 */
export async function submitBooking(
  deps: SubmissionDeps,
  event: EventInfo,
  body: CreateBookingBody,
  key: string | undefined,
  correlationId?: string,
): Promise<Submission> {
  const fingerprint = bodyFingerprint(body);
  const idemKey = key === undefined ? undefined : idempotencyKeyName(deps.prefix, event.id, sha256(key));
  if (idemKey) {
    // A key seen before answers as it did then, even after the sales window has moved on.
    const existing = await deps.redis.get(idemKey);
    if (existing !== null) return replay(deps, idemKey, existing, fingerprint);
  }
  const now = Date.now();
  const windowError = salesWindowError(event, now);
  if (windowError) throw windowError;

  const requestId = newRequestId(event.id);
  const acceptedAt = new Date(now).toISOString();
  const pendingRecord: IdempotencyRecord = { h: fingerprint, state: 'admitting' };
  const admitted = await deps.gate.admit({
    eventId: event.id,
    requestId,
    userId: body.userId,
    quantity: body.quantity,
    maxPerUser: event.maxPerUser,
    acceptedAt,
    ...(idemKey
      ? { idemKey, idemRecord: JSON.stringify(pendingRecord), idemTtlSeconds: deps.idempotencyTtlSeconds }
      : {}),
  });
  if (admitted.kind === 'replay') return replay(deps, idemKey!, admitted.record, fingerprint);

  if (admitted.kind === 'sold-out') {
    const error = soldOut();
    if (idemKey) await store(deps, idemKey, { h: fingerprint, state: 'done', status: 409 });
    return { status: 409, error };
  }

  const request: BookingRequestData = {
    requestId,
    userId: body.userId,
    quantity: body.quantity,
    acceptedAt,
    gated: admitted.outcome !== 'UNGATED',
    ...(correlationId ? { correlationId } : {}),
  };
  try {
    await deps.queues.enqueueBooking(event.id, request);
  } catch (err) {
    // Not queued: take back the seats promised and forget the key, so a retry starts afresh.
    await Promise.allSettled([
      deps.gate.release(event.id, requestId),
      idemKey ? deps.redis.del(idemKey) : Promise.resolve(),
    ]);
    throw err;
  }
  deps.journal.add({ id: requestId, eventId: event.id, userId: body.userId, quantity: body.quantity, acceptedAt: new Date(now) });
  const pending: PendingBody = {
    requestId,
    status: 'pending',
    eventId: event.id,
    userId: body.userId,
    quantity: body.quantity,
    position: admitted.position,
  };
  if (idemKey) await store(deps, idemKey, { h: fingerprint, state: 'done', status: 202, body: pending });
  return { status: 202, body: pending };
}

async function store(deps: SubmissionDeps, idemKey: string, record: IdempotencyRecord): Promise<void> {
  await deps.redis.set(idemKey, JSON.stringify(record), 'EX', deps.idempotencyTtlSeconds);
}

/** Answers a repeated key: 422 for another body, else the first answer (waiting briefly if in flight). */
async function replay(deps: SubmissionDeps, idemKey: string, raw: string, fingerprint: string): Promise<Submission> {
  let record = parseRecord(raw);
  const deadline = Date.now() + 3_000;
  for (;;) {
    if (!record) throw unavailable('the first request with this Idempotency-Key did not complete; send it again');
    if (record.h !== fingerprint) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different body');
    }
    if (record.state === 'done') {
      if (record.status === 202) return { status: 202, body: record.body as PendingBody };
      return { status: 409, error: soldOut() };
    }
    if (Date.now() > deadline) throw unavailable('the first request with this Idempotency-Key is still in progress');
    await sleep(20);
    const next = await deps.redis.get(idemKey);
    record = next === null ? undefined : parseRecord(next);
  }
}
