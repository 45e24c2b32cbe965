import { setTimeout as sleep } from 'node:timers/promises';

import { AppError, type CreateBookingBody, newRequestId } from '@booking/domain';
import { type AdmissionGate, type BookingRequestData, idempotencyKeyName } from '@booking/queue';

import type { AcceptedJournal } from './accepted-journal.ts';
import type { EventInfo } from './event-cache.ts';
import type { IdempotencyStore } from './guarded.ts';
import { bodyFingerprint, type IdempotencyRecord, parseRecord, serializeRecord, sha256 } from './idempotency.ts';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './middleware/problem.ts';
import type { QueueRegistry } from './queue-registry.ts';
import { neverSent } from './redis-breaker.ts';

/** The answer to a submission: `202` with the pending request, or an error to send as problem+json. */
export type Submission = { status: 202; body: PendingBody } | { status: 409; error: AppError };

export interface PendingBody {
  requestId: string;
  status: 'pending';
  eventId: string;
  userId: string;
  quantity: number;
  /** Requests ahead of it when it was accepted (absent in an answer rebuilt from PostgreSQL). */
  position?: number;
}

export interface SubmissionDeps {
  /**
   * Looks a key up where idempotency keys are kept for good, the journal and the decisions in
   * PostgreSQL (the API gathers the lookups: DurableKeys).
   */
  findDurableKey: (eventId: string, keyHash: string) => Promise<{ id: string; userId: string; quantity: number } | undefined>;
  gate: AdmissionGate;
  queues: QueueRegistry;
  /** Idempotency records of the last day (DurableKeys holds them for good). */
  idempotency: IdempotencyStore;
  prefix: string;
  idempotencyTtlSeconds: number;
  /** How long the key of a 409 answer is kept: shorter, as most keys of a sell-out get one. */
  idempotencyConflictTtlSeconds?: number;
  journal: AcceptedJournal;
  /**
   * New requests one user, and one client address (`addressPoints`, none: no limit), may send per event
   * and window (counted at the gate, across API replicas).
   */
  rateLimit: { points: number; windowMs: number; addressPoints?: number };
}

/**
 * The door's answer to most of a sell-out's requests, made once: an error's stack trace costs more
 * than the rest of such an answer, and this one is never thrown, only sent.
 */
const SOLD_OUT = new AppError('SOLD_OUT', 'not enough seats are left for this request');

function soldOut(): AppError {
  return SOLD_OUT;
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
 * Called with the request id just before the request is queued (to register for its decision);
 * may return a function that undoes it, called when the request could not be queued.
 */
export type BeforeQueued = (requestId: string) => (() => void) | void;

/**
 * Accepts a booking request. One Redis script answers a repeated Idempotency-Key, counts the client
 * address's and the user's rate limits and checks the gate, in that order and atomically (one round trip); then the job goes
 * on the event's queue. A replay is answered whatever the rate limit says: the same key and body
 * always get the first answer, also when copies race, and only new requests count against the limit.
 */
export async function submitBooking(
  deps: SubmissionDeps,
  event: EventInfo,
  body: CreateBookingBody,
  key: string | undefined,
  correlationId?: string,
  beforeQueued?: BeforeQueued,
  clientAddress?: string,
): Promise<Submission> {
  // Only a request with an Idempotency-Key needs its body's fingerprint (a hash: not free on a sale's hot path).
  const fingerprint = key === undefined ? '' : bodyFingerprint(body);
  const keyHash = key === undefined ? undefined : sha256(key);
  const idemKey = keyHash === undefined ? undefined : idempotencyKeyName(deps.prefix, event.id, keyHash);
  const now = Date.now();
  const windowError = salesWindowError(event, now);
  if (windowError) {
    // A key seen before answers as it did then, even after the sales window has moved on.
    const existing = idemKey ? await deps.idempotency.get(idemKey) : null;
    if (existing !== null) return replay(deps, idemKey!, existing, fingerprint);
    throw windowError;
  }

  const requestId = newRequestId(event.id);
  const acceptedAt = new Date(now).toISOString();
  const waitlist = body.waitlist === true && event.waitlistLimit !== null;
  const admitted = await deps.gate.admit({
    eventId: event.id,
    requestId,
    userId: body.userId,
    quantity: body.quantity,
    maxPerUser: event.maxPerUser,
    acceptedAt,
    rateLimit: deps.rateLimit,
    ...(clientAddress !== undefined ? { clientAddress } : {}),
    ...(waitlist ? { waitlist } : {}),
    ...(idemKey
      ? {
          idemKey,
          idemRecord: serializeRecord({ fingerprint, state: 'admitting' }),
          idemTtlSeconds: deps.idempotencyTtlSeconds,
        }
      : {}),
  });
  if (admitted.kind === 'replay') return replay(deps, idemKey!, admitted.record, fingerprint);
  if (idemKey && keyHash) {
    // Redis knew nothing of the key; PostgreSQL may still (Redis lost its data since the first request).
    const first = await durableReplay(deps, event.id, keyHash, idemKey).catch(async (err: unknown) => {
      if (admitted.kind === 'admitted') await Promise.allSettled([deps.gate.release(event.id, requestId), deps.idempotency.del(idemKey)]);
      throw err;
    });
    if (first) {
      if (admitted.kind === 'admitted') await deps.gate.release(event.id, requestId);
      return replay(deps, idemKey, first, fingerprint);
    }
  }
  if (admitted.kind === 'limited') {
    const { points, windowMs, addressPoints } = deps.rateLimit;
    const limit =
      admitted.by === 'address'
        ? `${addressPoints} booking requests per ${windowMs / 1000} s per client address`
        : `${points} booking requests per ${windowMs / 1000} s per user`;
    throw new AppError('RATE_LIMITED', `at most ${limit} and event`, {
      retryAfterSeconds: Math.max(1, Math.ceil(admitted.retryAfterMs / 1000)),
    });
  }

  if (admitted.kind === 'sold-out') {
    const error = soldOut();
    if (idemKey) await store(deps, idemKey, { fingerprint, state: 'done', status: 409 }, deps.idempotencyConflictTtlSeconds);
    return { status: 409, error };
  }

  const request: BookingRequestData = {
    requestId,
    userId: body.userId,
    quantity: body.quantity,
    acceptedAt,
    gated: admitted.outcome !== 'UNGATED',
    ...(correlationId ? { correlationId } : {}),
    ...(keyHash ? { idempotencyKey: keyHash } : {}),
    ...(waitlist ? { waitlist } : {}),
  };
  const undo = beforeQueued?.(requestId);
  try {
    await deps.queues.enqueueBooking(event.id, request);
  } catch (err) {
    if (neverSent(err)) {
      // Certainly not queued: take back the seats promised and forget the key, so a retry starts afresh.
      undo?.();
      await Promise.allSettled([deps.gate.release(event.id, requestId), idemKey ? deps.idempotency.del(idemKey) : Promise.resolve()]);
      throw err;
    }
    // Timed out or cut off on the way: Redis may have queued it all the same. Telling the client 503
    // could then book a request it believes refused; the truth is that it is accepted. The journal
    // below makes sure it is decided: from the queue if it got there, else recovered from the journal.
  }
  deps.journal.add({
    id: requestId,
    eventId: event.id,
    userId: body.userId,
    quantity: body.quantity,
    acceptedAt: new Date(now),
    ...(keyHash ? { idempotencyKey: keyHash } : {}),
    ...(waitlist ? { waitlist } : {}),
  });
  const pending: PendingBody = {
    requestId,
    status: 'pending',
    eventId: event.id,
    userId: body.userId,
    quantity: body.quantity,
    position: admitted.position,
  };
  if (idemKey) await store(deps, idemKey, { fingerprint, state: 'done', status: 202, body: pending });
  return { status: 202, body: pending };
}

/**
 * The first answer to an Idempotency-Key that PostgreSQL holds and Redis has forgotten (the request
 * it accepted, in the journal or decided), stored in Redis again; undefined when there is none.
 */
async function durableReplay(deps: SubmissionDeps, eventId: string, keyHash: string, idemKey: string): Promise<string | undefined> {
  const found = await deps.findDurableKey(eventId, keyHash);
  if (!found) return undefined;
  const body: PendingBody = { requestId: found.id, status: 'pending', eventId, userId: found.userId, quantity: found.quantity };
  const record: IdempotencyRecord = {
    fingerprint: bodyFingerprint({ userId: found.userId, quantity: found.quantity }),
    state: 'done',
    status: 202,
    body,
  };
  await store(deps, idemKey, record);
  return serializeRecord(record);
}

async function store(
  deps: SubmissionDeps,
  idemKey: string,
  record: IdempotencyRecord,
  ttlSeconds = deps.idempotencyTtlSeconds,
): Promise<void> {
  await deps.idempotency.set(idemKey, serializeRecord(record), ttlSeconds);
}

/** Answers a repeated key: 422 for another body, else the first answer (waiting briefly if in flight). */
async function replay(deps: SubmissionDeps, idemKey: string, raw: string, fingerprint: string): Promise<Submission> {
  let record = parseRecord(raw);
  const deadline = Date.now() + 3_000;
  for (;;) {
    if (!record) throw unavailable('the first request with this Idempotency-Key did not complete; send it again');
    if (record.fingerprint !== fingerprint) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different body');
    }
    if (record.state === 'done') {
      if (record.status === 202) return { status: 202, body: record.body as PendingBody };
      return { status: 409, error: soldOut() };
    }
    if (Date.now() > deadline) throw unavailable('the first request with this Idempotency-Key is still in progress');
    await sleep(20);
    const next = await deps.idempotency.get(idemKey);
    record = next === null ? undefined : parseRecord(next);
  }
}
