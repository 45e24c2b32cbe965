import type { BookingRequestView, RejectionReason, RequestStatus } from '@booking/domain';
import { sql } from 'kysely';

import type { Db } from './connection.ts';

/** A waitlisted request's place on the list (1 = next). */
export type PositionOf = (eventId: string, requestId: string) => Promise<number>;

/**
 * The decided requests among `requestIds` as recorded, in one query, with the booking id of those
 * confirmed (pending ones are absent). Places on a waiting list come from `positionOf`, by default
 * counted in PostgreSQL.
 */
export async function findDecidedRequests(
  db: Db,
  requestIds: readonly string[],
  positionOf: PositionOf = (eventId, id) => waitlistPosition(db, eventId, id),
): Promise<Map<string, BookingRequestView>> {
  if (requestIds.length === 0) return new Map();
  const rows = await db
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
    .where('r.id', 'in', [...requestIds])
    .execute();
  const views = new Map<string, BookingRequestView>();
  for (const row of rows) {
    views.set(row.id, {
      requestId: row.id,
      eventId: row.event_id,
      userId: row.user_id,
      quantity: row.quantity,
      status: row.status,
      ...(row.reason ? { reason: row.reason as RejectionReason } : {}),
      ...(row.booking_id ? { bookingId: row.booking_id } : {}),
      acceptedAt: row.accepted_at.toISOString(),
      decidedAt: row.decided_at.toISOString(),
      ...(row.status === 'waitlisted' ? { waitlistPosition: await positionOf(row.event_id, row.id) } : {}),
    });
  }
  return views;
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

/**
 * The statuses of those of `requestIds` that are decided (confirmed, rejected or waitlisted), in one
 * query: what a waiting long-poll reads again to see whether its request has changed.
 */
export async function requestStatuses(db: Db, requestIds: readonly string[]): Promise<Map<string, RequestStatus>> {
  if (requestIds.length === 0) return new Map();
  const { rows } = await sql<{ id: string; status: RequestStatus }>`
    SELECT id, status FROM booking_requests WHERE id = ANY (${[...requestIds]}::text[])`.execute(db);
  return new Map(rows.map((r) => [r.id, r.status]));
}

/** The ids on the event's waiting list, in its order (the first is next); at most `limit`. */
export async function waitlistOrder(db: Db, eventId: string, limit: number): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    SELECT id FROM booking_requests WHERE event_id = ${eventId} AND status = 'waitlisted'
     ORDER BY waitlisted_at, id LIMIT ${limit}`.execute(db);
  return rows.map((r) => r.id);
}
