import type { RejectionReason } from '@booking/domain';
import { sql } from 'kysely';

import type { BookingRow } from './booking.repository.ts';
import type { Db } from './connection.ts';

export interface BookingRequestInput {
  requestId: string;
  eventId: string;
  userId: string;
  quantity: number;
  acceptedAt: string;
  /** Id for the booking if the request is confirmed (ignored when it was decided before). */
  bookingId: string;
}

export interface Decision {
  status: 'confirmed' | 'rejected';
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
 * `decide_booking_batch` SQL function). Returns a decision for every request, by request id.
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
  }));
  const { rows } = await sql<{
    request_id: string;
    status: 'confirmed' | 'rejected';
    reason: RejectionReason | null;
    booking_id: string | null;
    decided_at: Date;
    replayed: boolean;
  }>`SELECT * FROM decide_booking_batch(${eventId}, ${JSON.stringify(payload)}::jsonb, ${epoch ?? null}::bigint)`.execute(db);
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
  if (missing) throw new Error(`decide_booking_batch returned no decision for ${missing.requestId}`);
  return decisions;
}

/** Decides one booking request (a batch of one). */
export async function decideBookingRequest(db: Db, input: BookingRequestInput): Promise<Decision> {
  const { eventId, ...request } = input;
  const decisions = await decideBookingBatch(db, eventId, [request]);
  return decisions.get(input.requestId)!;
}

/** Cancels a booking and returns its seats once; undefined when no such booking exists. */
export async function cancelBooking(db: Db, bookingId: string, epoch?: number): Promise<BookingRow | undefined> {
  const { rows } = await sql<BookingRow>`SELECT * FROM cancel_booking(${bookingId}, ${epoch ?? null}::bigint)`.execute(db);
  return rows[0];
}
