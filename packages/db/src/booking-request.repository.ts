import type { BookingRequestView, RejectionReason } from '@booking/domain';

import { sql } from 'kysely';

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
    ...(row.status === 'waitlisted' ? { waitlistPosition: await waitlistPosition(db, row.event_id, row.id) } : {}),
  };
}

/** The places on the event's waiting list (1 = next) of those of `requestIds` that are on it. */
export async function waitlistPositions(db: Db, eventId: string, requestIds: string[]): Promise<Map<string, number>> {
  const { rows } = await sql<{ id: string; n: number }>`
    SELECT id, n FROM (
      SELECT w.id, row_number() OVER (ORDER BY w.waitlisted_at, w.id)::int AS n FROM booking_requests w
       WHERE w.event_id = ${eventId} AND w.status = 'waitlisted') p
     WHERE id = ANY (${requestIds}::text[])`.execute(db);
  return new Map(rows.map((r) => [r.id, r.n]));
}

/** A waitlisted request's place on its event's list (1 = next), by joining order. */
export async function waitlistPosition(db: Db, eventId: string, requestId: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM booking_requests w, booking_requests me
     WHERE me.id = ${requestId} AND w.event_id = ${eventId} AND w.status = 'waitlisted'
       AND (w.waitlisted_at, w.id) <= (me.waitlisted_at, me.id)`.execute(db);
  return rows[0]?.n ?? 1;
}
