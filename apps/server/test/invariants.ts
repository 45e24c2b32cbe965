import type { Db } from '@booking/db';
import { sql } from 'kysely';
import { expect } from 'vitest';

/** Checks the contract's guarantees for one event straight in the database. */
export async function expectEventInvariants(db: Db, eventId: string): Promise<void> {
  const event = await db.selectFrom('events').selectAll().where('id', '=', eventId).executeTakeFirstOrThrow();
  const { rows } = await sql<{ held: number; bookings: number; orphans: number; doubled: number; mismatched: number }>`
    SELECT
      (SELECT coalesce(sum(quantity), 0)::int FROM bookings WHERE event_id = ${eventId} AND status = 'confirmed') AS held,
      (SELECT count(*)::int FROM bookings WHERE event_id = ${eventId}) AS bookings,
      (SELECT count(*)::int FROM bookings b LEFT JOIN booking_requests r ON r.id = b.request_id
        WHERE b.event_id = ${eventId} AND (r.id IS NULL OR r.status <> 'confirmed')) AS orphans,
      (SELECT count(*)::int FROM (SELECT request_id FROM bookings WHERE event_id = ${eventId}
        GROUP BY request_id HAVING count(*) > 1) d) AS doubled,
      (SELECT count(*)::int FROM booking_requests r LEFT JOIN bookings b ON b.request_id = r.id
        WHERE r.event_id = ${eventId} AND r.status = 'confirmed' AND b.id IS NULL) AS mismatched
  `.execute(db);
  const row = rows[0]!;
  expect(row.held, 'confirmed seats never exceed capacity').toBeLessThanOrEqual(event.capacity);
  expect(event.available, 'available = capacity - confirmed seats').toBe(event.capacity - row.held);
  expect(row.orphans, 'no booking without a confirmed request').toBe(0);
  expect(row.doubled, 'no request with two bookings').toBe(0);
  expect(row.mismatched, 'every confirmed request has its booking').toBe(0);
}
