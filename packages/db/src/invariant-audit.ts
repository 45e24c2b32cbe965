import { sql } from 'kysely';

import type { Db } from './connection.ts';

/** One broken invariant: the event it concerns (or null) and what is wrong, in words. */
export interface Violation {
  eventId: string | null;
  problem: string;
}

/**
 * A hold this long past its `expires_at` should have been expired by a worker, a decided request's
 * journal row this old pruned by the housekeeping (ms).
 */
export const OVERDUE_GRACE_MS = 60_000;

/**
 * Checks every event's invariants in PostgreSQL and returns each violation (none: all hold). Reads
 * one snapshot (a REPEATABLE READ transaction), so a sale going on meanwhile cannot make a
 * consistent database look broken.
 */
export async function auditInvariants(db: Db, options: { overdueGraceMs?: number } = {}): Promise<Violation[]> {
  const grace = `${Math.max(0, options.overdueGraceMs ?? OVERDUE_GRACE_MS)} milliseconds`;
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (tx) => {
      const { rows } = await sql<{ event_id: string | null; problem: string }>`
        WITH taken AS (
          SELECT e.id, e.capacity, e.available, e.seats_taken,
                 coalesce(sum(b.quantity) FILTER (WHERE b.status IN ('held', 'confirmed')), 0)::int AS seats
            FROM events e LEFT JOIN bookings b ON b.event_id = e.id
           GROUP BY e.id
        )
        SELECT id AS event_id, format('held + confirmed seats %s exceed capacity %s', seats, capacity) AS problem
          FROM taken WHERE seats > capacity
        UNION ALL
        SELECT id, format('available %s, but capacity %s - held and confirmed seats %s = %s', available, capacity, seats, capacity - seats)
          FROM taken WHERE available <> capacity - seats
        UNION ALL
        SELECT id, format('seats_taken %s, but held and confirmed seats are %s', seats_taken, seats)
          FROM taken WHERE seats_taken <> seats
        UNION ALL
        SELECT b.event_id, format('booking %s has no confirmed request (request %s is %s)', b.id, b.request_id, coalesce(r.status, 'missing'))
          FROM bookings b LEFT JOIN booking_requests r ON r.id = b.request_id
         WHERE r.id IS NULL OR r.status <> 'confirmed'
        UNION ALL
        SELECT r.event_id, format('confirmed request %s has no booking', r.id)
          FROM booking_requests r LEFT JOIN bookings b ON b.request_id = r.id
         WHERE r.status = 'confirmed' AND b.id IS NULL
        UNION ALL
        SELECT b.event_id, format('booking %s belongs to event %s, its request %s to event %s', b.id, b.event_id, r.id, r.event_id)
          FROM bookings b JOIN booking_requests r ON r.id = b.request_id
         WHERE r.event_id <> b.event_id
        UNION ALL
        -- The journal is written behind the queue, so a row can land just after its decision; the
        -- housekeeping prunes it within seconds. Only one older than the grace is left behind.
        SELECT r.event_id, format('request %s is decided but still in the journal, accepted %s ago', r.id, date_trunc('second', clock_timestamp() - a.accepted_at))
          FROM booking_requests r JOIN accepted_requests a ON a.id = r.id
         WHERE a.accepted_at < clock_timestamp() - ${grace}::interval
        UNION ALL
        SELECT b.event_id, format('booking %s is held %s past its expiry at %s', b.id, date_trunc('second', clock_timestamp() - b.expires_at), b.expires_at)
          FROM bookings b
         WHERE b.status = 'held' AND b.expires_at < clock_timestamp() - ${grace}::interval
        UNION ALL
        SELECT b.event_id, format('booking %s was confirmed at %s, not before its expiry at %s', b.id, b.confirmed_at, b.expires_at)
          FROM bookings b
         WHERE b.confirmed_at IS NOT NULL AND b.expires_at IS NOT NULL AND b.confirmed_at >= b.expires_at
        UNION ALL
        SELECT b.event_id, format('booking %s expired at %s, before its expiry at %s', b.id, b.expired_at, b.expires_at)
          FROM bookings b
         WHERE b.status = 'expired' AND (b.expired_at IS NULL OR b.expired_at < b.expires_at)
        UNION ALL
        SELECT b.event_id, format('booking %s is %s on an event without holds', b.id, b.status)
          FROM bookings b JOIN events e ON e.id = b.event_id
         WHERE b.status IN ('held', 'expired') AND e.hold_seconds IS NULL
        UNION ALL
        SELECT e.id, format('waiting list has %s entries, its limit is %s', count(*), coalesce(e.waitlist_limit::text, 'none'))
          FROM events e JOIN booking_requests w ON w.event_id = e.id AND w.status = 'waitlisted'
         GROUP BY e.id, e.waitlist_limit
        HAVING e.waitlist_limit IS NULL OR count(*) > e.waitlist_limit
        UNION ALL
        SELECT w.event_id, format('request %s is on the waiting list with a booking', w.id)
          FROM booking_requests w JOIN bookings b ON b.request_id = w.id
         WHERE w.status = 'waitlisted'
        UNION ALL
        SELECT w.event_id, format('request %s is still on the waiting list, sales closed at %s', w.id, e.sales_end_at)
          FROM booking_requests w JOIN events e ON e.id = w.event_id
         WHERE w.status = 'waitlisted' AND e.sales_end_at < clock_timestamp() - ${grace}::interval
        ORDER BY 1, 2`.execute(tx);
      return rows.map((r) => ({ eventId: r.event_id, problem: r.problem }));
    });
}
