import type { RejectionReason } from '@booking/domain';
import { sql } from 'kysely';

import type { BookingRow } from './booking.repository.ts';
import type { Db } from './connection.ts';
import { fenced } from './pg-errors.ts';

export interface BookingRequestInput {
  requestId: string;
  eventId: string;
  userId: string;
  quantity: number;
  acceptedAt: string;
  /** Id for the booking if the request is confirmed (ignored when it was decided before). */
  bookingId: string;
  /** SHA-256 (hex) of the request's Idempotency-Key, recorded with the decision. */
  idempotencyKey?: string | undefined;
  /** Join the event's waiting list rather than be rejected SOLD_OUT. */
  waitlist?: boolean | undefined;
}

export interface Decision {
  status: 'confirmed' | 'rejected' | 'waitlisted';
  reason: RejectionReason | null;
  bookingId: string | null;
  decidedAt: Date;
  /** True when the request had been decided before (a redelivered job): nothing changed. */
  replayed: boolean;
}

/** A request of a batch: the same as BookingRequestInput without the event (the batch has it). */
export type BatchRequest = Omit<BookingRequestInput, 'eventId'>;

/**
 * Decides a batch of one event's requests in one transaction, in the order given (the
 * `decide_bookings` SQL function). Returns a decision for every request, by request id.
 */
export async function decideBookingBatch(
  db: Db,
  eventId: string,
  requests: BatchRequest[],
  epoch?: number,
): Promise<Map<string, Decision>> {
  const payload = requests.map((r) => ({
    id: r.requestId,
    userId: r.userId,
    quantity: r.quantity,
    acceptedAt: r.acceptedAt,
    bookingId: r.bookingId,
    ...(r.idempotencyKey ? { idempotencyKey: r.idempotencyKey } : {}),
    ...(r.waitlist ? { waitlist: true } : {}),
  }));
  const { rows } = await fenced(
    sql<{
      request_id: string;
      status: 'confirmed' | 'rejected' | 'waitlisted';
      reason: RejectionReason | null;
      booking_id: string | null;
      decided_at: Date;
      replayed: boolean;
    }>`SELECT * FROM decide_bookings(${eventId}, ${JSON.stringify(payload)}::jsonb, ${epoch ?? null}::bigint)`.execute(db),
  );
  const decisions = new Map<string, Decision>();
  for (const row of rows) {
    decisions.set(row.request_id, {
      status: row.status,
      reason: row.reason,
      bookingId: row.booking_id,
      decidedAt: row.decided_at,
      replayed: row.replayed,
    });
  }
  const missing = requests.find((r) => !decisions.has(r.requestId));
  if (missing) throw new Error(`decide_bookings returned no decision for ${missing.requestId}`);
  return decisions;
}

/** Text as Postgres can store it: NUL and unpaired surrogates become U+FFFD, at most `max` characters. */
function storable(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- NUL is what PostgreSQL cannot store: matching it is the point.
  return text.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd').slice(0, max) || '\ufffd';
}

/**
 * Records a request that Postgres refused to store as sent (`decide_bookings` failed on it alone)
 * as rejected with `INVALID_REQUEST`, so it is decided like any other and never stays pending. Its
 * user id is kept in a storable form. A request decided before keeps its decision.
 */
export async function rejectUnstorableRequest(db: Db, eventId: string, request: BatchRequest): Promise<Decision> {
  const quantity = Number.isInteger(request.quantity) && request.quantity >= 1 && request.quantity <= 10 ? request.quantity : 1;
  const acceptedAt = Number.isNaN(Date.parse(request.acceptedAt)) ? new Date().toISOString() : request.acceptedAt;
  const { rows } = await sql<{
    status: 'confirmed' | 'rejected';
    reason: RejectionReason | null;
    booking_id: string | null;
    decided_at: Date;
    replayed: boolean;
  }>`
    WITH inserted AS (
      INSERT INTO booking_requests (id, event_id, user_id, quantity, status, reason, accepted_at)
      VALUES (${request.requestId}, ${eventId}, ${storable(request.userId, 128)}, ${quantity}, 'rejected', 'INVALID_REQUEST', ${acceptedAt}::timestamptz)
      ON CONFLICT (id) DO NOTHING
      RETURNING status, reason, NULL::text AS booking_id, decided_at, false AS replayed
    ), removed AS (
      DELETE FROM accepted_requests a WHERE a.id = ${request.requestId}
    )
    SELECT * FROM inserted
    UNION ALL
    SELECT br.status, br.reason, b.id, br.decided_at, true
      FROM booking_requests br LEFT JOIN bookings b ON b.request_id = br.id
     WHERE br.id = ${request.requestId} AND NOT EXISTS (SELECT 1 FROM inserted)`.execute(db);
  const row = rows[0];
  if (!row) throw new Error(`could not record request ${request.requestId} as invalid`);
  return { status: row.status, reason: row.reason, bookingId: row.booking_id, decidedAt: row.decided_at, replayed: row.replayed };
}

/** Cancels a booking and returns its seats once; undefined when no such booking exists. */
export async function cancelBooking(db: Db, bookingId: string, epoch?: number): Promise<BookingRow | undefined> {
  const { rows } = await fenced(sql<BookingRow>`SELECT * FROM cancel_booking(${bookingId}, ${epoch ?? null}::bigint)`.execute(db));
  return rows[0];
}
