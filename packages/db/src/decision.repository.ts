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

/** Decides one booking request in one statement (see the `decide_booking_request` SQL function). */
export async function decideBookingRequest(db: Db, input: BookingRequestInput): Promise<Decision> {
  const { rows } = await sql<{
    status: 'confirmed' | 'rejected';
    reason: RejectionReason | null;
    booking_id: string | null;
    decided_at: Date;
    replayed: boolean;
  }>`SELECT * FROM decide_booking_request(${input.requestId}, ${input.eventId}, ${input.userId},
        ${input.quantity}, ${input.acceptedAt}::timestamptz, ${input.bookingId})`.execute(db);
  const row = rows[0];
  if (!row) throw new Error(`decide_booking_request returned no row for ${input.requestId}`);
  return {
    status: row.status,
    reason: row.reason,
    bookingId: row.booking_id,
    decidedAt: row.decided_at,
    replayed: row.replayed,
  };
}

/** Cancels a booking and returns its seats once; undefined when no such booking exists. */
export async function cancelBooking(db: Db, bookingId: string): Promise<BookingRow | undefined> {
  const { rows } = await sql<BookingRow>`SELECT * FROM cancel_booking(${bookingId})`.execute(db);
  return rows[0];
}
