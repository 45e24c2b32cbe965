import { sql } from 'kysely';

import type { BookingRow } from './booking.repository.ts';
import type { Db } from './connection.ts';
import type { EventRow } from './event.repository.ts';

/** Where a page starts: after the row with this `created_at` (PostgreSQL's text of it, exact to the µs) and id. */
export interface PagePosition {
  createdAt: string;
  id: string;
}

/** A page of rows, newest first, each with the position that the next page starts after. */
export type Paged<R> = Array<R & { position: PagePosition }>;

// The text form keeps every microsecond of `created_at`; a JavaScript Date would round to the
// millisecond and a page could then repeat or skip rows created in the same millisecond.
const createdAtText = sql<string>`created_at::text`.as('created_at_text');

function withPositions<R extends { id: string; created_at_text: string }>(rows: R[]): Paged<Omit<R, 'created_at_text'>> {
  return rows.map(({ created_at_text, ...row }) => ({ ...row, position: { createdAt: created_at_text, id: row.id } }));
}

/** Up to `limit` events, newest first, after `after` (index `events_created_idx`). */
export async function listEventsPage(db: Db, limit: number, after?: PagePosition): Promise<Paged<EventRow>> {
  let query = db.selectFrom('events').selectAll().select(createdAtText);
  if (after) query = query.where(sql<boolean>`(created_at, id) < (${after.createdAt}::timestamptz, ${after.id})`);
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return withPositions(rows);
}

/** Up to `limit` bookings of one user, newest first, after `after` (index `bookings_user_created_idx`). */
export async function listUserBookingsPage(db: Db, userId: string, limit: number, after?: PagePosition): Promise<Paged<BookingRow>> {
  let query = db.selectFrom('bookings').selectAll().select(createdAtText).where('user_id', '=', userId);
  if (after) query = query.where(sql<boolean>`(created_at, id) < (${after.createdAt}::timestamptz, ${after.id})`);
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return withPositions(rows);
}
