import type { Db } from '@booking/db';
import { sql } from 'kysely';
import { expect } from 'vitest';

/** Checks the contract's guarantees for one event straight in the database. */
export async function expectEventInvariants(db: Db, eventId: string): Promise<void> {
  const event = await db.selectFrom('events').selectAll().where('id', '=', eventId).executeTakeFirstOrThrow();
  const { rows } = await sql<{ held: number; bookings: number; orphans: number; doubled: number; mismatched: number }>`
    SELECT
      (SELECT coalesce(sum(quantity), 0)::int FROM bookings WHERE event_id = ${eventId} AND status IN ('held', 'confirmed')) AS held,
      (SELECT count(*)::int FROM bookings WHERE event_id = ${eventId}) AS bookings,
      (SELECT count(*)::int FROM bookings b LEFT JOIN booking_requests r ON r.id = b.request_id
        WHERE b.event_id = ${eventId} AND (r.id IS NULL OR r.status <> 'confirmed')) AS orphans,
      (SELECT count(*)::int FROM (SELECT request_id FROM bookings WHERE event_id = ${eventId}
        GROUP BY request_id HAVING count(*) > 1) d) AS doubled,
      (SELECT count(*)::int FROM booking_requests r LEFT JOIN bookings b ON b.request_id = r.id
        WHERE r.event_id = ${eventId} AND r.status = 'confirmed' AND b.id IS NULL) AS mismatched
  `.execute(db);
  const row = rows[0]!;
  // `held` counts the seats of held and confirmed bookings: both are taken.
  expect(row.held, 'held + confirmed seats never exceed capacity').toBeLessThanOrEqual(event.capacity);
  expect(event.available, 'available = capacity - held - confirmed seats').toBe(event.capacity - row.held);
  expect(event.seats_taken, 'seats_taken (kept by triggers) = held + confirmed seats').toBe(row.held);
  expect(row.orphans, 'no booking without a confirmed request').toBe(0);
  expect(row.doubled, 'no request with two bookings').toBe(0);
  expect(row.mismatched, 'every confirmed request has its booking').toBe(0);
}

/**
 * Replays an event's decisions in the order they were made (decided_at, microsecond precision) and
 * checks each against the seats left at that moment: a confirmation had enough, a SOLD_OUT had too
 * few (no false sold-out). Assumes no cancellation happened meanwhile. Returns the seats left.
 */
export async function expectDecisionsJustified(db: Db, eventId: string): Promise<number> {
  const event = await db.selectFrom('events').selectAll().where('id', '=', eventId).executeTakeFirstOrThrow();
  const { rows } = await sql<{ id: string; quantity: number; status: string; reason: string | null; decided: string }>`
    SELECT id, quantity, status, reason, to_char(decided_at, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS decided
      FROM booking_requests WHERE event_id = ${eventId} ORDER BY decided_at, id
  `.execute(db);
  let left = event.capacity;
  const problems: string[] = [];
  for (const [i, r] of rows.entries()) {
    if (i > 0 && rows[i - 1]!.decided === r.decided) problems.push(`${r.id}: decided at the same instant as its predecessor`);
    if (r.status === 'confirmed') {
      if (r.quantity > left) problems.push(`${r.id}: confirmed ${r.quantity} with ${left} left at ${r.decided}`);
      left -= r.quantity;
    } else if (r.reason === 'SOLD_OUT' && r.quantity <= left) {
      problems.push(`${r.id}: SOLD_OUT for ${r.quantity} with ${left} left at ${r.decided}`);
    }
  }
  expect(problems, 'every decision matches the seats left when it was made').toEqual([]);
  return left;
}

/**
 * For a sale without cancellations: seats left only ever go down, so a SOLD_OUT (at the door or by a
 * worker) for a quantity the event still has at the end was false. `soldOut` lists the quantities
 * of every SOLD_OUT answer.
 */
export function expectNoFalseSoldOut(left: number, soldOut: number[]): void {
  expect(
    soldOut.filter((q) => q <= left),
    `SOLD_OUT answers although ${left} seats are still left`,
  ).toEqual([]);
}
