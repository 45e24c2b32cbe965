import { sql } from 'kysely';

import type { BookingRow } from './booking.repository.ts';
import type { Db } from './connection.ts';
import { fenced } from './pg-errors.ts';

/** A booking after a checkout attempt; `changed`: this attempt confirmed it, or found it overdue and expired it. */
export type ConfirmedRow = BookingRow & { changed: boolean };

/**
 * Checkouts of held bookings of one event in the event's order (`confirm_booking` for each, one
 * after the other in the given order, in one statement and so in the caller's transaction): before
 * its `expires_at` a hold becomes confirmed; at or after it the hold expires there and then. The
 * rows of the bookings found, in that order.
 */
export async function confirmBookings(db: Db, bookingIds: readonly string[], epoch?: number): Promise<ConfirmedRow[]> {
  if (bookingIds.length === 0) return [];
  const { rows } = await fenced(
    sql<ConfirmedRow & { request_id?: string }>`
    SELECT c.*, b.request_id
      FROM unnest(${[...bookingIds]}::text[]) WITH ORDINALITY AS x(booking_id, n)
      CROSS JOIN LATERAL confirm_booking(x.booking_id, ${epoch ?? null}::bigint) c
      JOIN bookings b ON b.id = c.id
     ORDER BY x.n`.execute(db),
  );
  return rows;
}

/** A hold expired by `expireHolds`. */
export interface ExpiredHold {
  id: string;
  user_id: string;
  quantity: number;
  expires_at: Date;
  expired_at: Date;
}

/** Expires the event's holds that are due, oldest first, at most `limit`, returning their seats once. */
export async function expireHolds(db: Db, eventId: string, epoch?: number, limit = 1_000): Promise<ExpiredHold[]> {
  const { rows } = await fenced(
    sql<ExpiredHold>`
    SELECT * FROM expire_holds(${eventId}, ${epoch ?? null}::bigint, ${limit}::integer)`.execute(db),
  );
  return rows;
}

/**
 * Events with holds whose `expires_at` has passed, those due longest first, then events whose sale
 * has ended with a waiting list still to close; at most `limit`.
 */
export async function listEventsWithOverdueHolds(db: Db, limit: number): Promise<string[]> {
  const { rows } = await sql<{ event_id: string }>`
    SELECT event_id FROM (
      SELECT event_id, min(expires_at) AS due FROM bookings
       WHERE status = 'held' AND expires_at <= clock_timestamp()
       GROUP BY event_id
      UNION ALL
      SELECT e.id, e.sales_end_at FROM events e
       WHERE e.waitlist_limit IS NOT NULL AND e.sales_end_at <= clock_timestamp()
         AND EXISTS (SELECT 1 FROM booking_requests w WHERE w.event_id = e.id AND w.status = 'waitlisted')
    ) d
     GROUP BY event_id
     ORDER BY min(due)
     LIMIT ${limit}`.execute(db);
  return rows.map((r) => r.event_id);
}

/** Seats of held bookings per event, for the events with the most, at most `limit`. */
export async function listHeldSeats(db: Db, limit: number): Promise<Array<{ eventId: string; seatsHeld: number }>> {
  const { rows } = await sql<{ event_id: string; seats: number }>`
    SELECT event_id, sum(quantity)::integer AS seats FROM bookings WHERE status = 'held'
     GROUP BY event_id ORDER BY 2 DESC LIMIT ${limit}`.execute(db);
  return rows.map((r) => ({ eventId: r.event_id, seatsHeld: r.seats }));
}
