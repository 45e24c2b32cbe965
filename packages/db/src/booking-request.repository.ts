import type { BookingRequestView, RejectionReason } from '@booking/domain';

import type { Db } from './connection.ts';

/** A decided request as recorded, with its booking id when confirmed; undefined while pending. */
export async function findDecidedRequest(db: Db, requestId: string): Promise<BookingRequestView | undefined> {
  const row = await db
    .selectFrom('booking_requests as r')
    .leftJoin('bookings as b', 'b.request_id', 'r.id')
    .select([
      'r.id',
      'r.event_id',
      'r.user_id',
      'r.quantity',
      'r.status',
      'r.reason',
      'r.accepted_at',
      'r.decided_at',
      'b.id as booking_id',
    ])
    .where('r.id', '=', requestId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    requestId: row.id,
    eventId: row.event_id,
    userId: row.user_id,
    quantity: row.quantity,
    status: row.status,
    ...(row.reason ? { reason: row.reason as RejectionReason } : {}),
    ...(row.booking_id ? { bookingId: row.booking_id } : {}),
    acceptedAt: row.accepted_at.toISOString(),
    decidedAt: row.decided_at.toISOString(),
  };
}
