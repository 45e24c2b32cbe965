import type { EventView } from '@booking/domain';
import { type Selectable, sql } from 'kysely';

import type { Db } from './connection.ts';
import type { EventTable } from './database.ts';

export type EventRow = Selectable<EventTable>;

export interface NewEvent {
  id: string;
  name: string;
  capacity: number;
  maxPerUser?: number | undefined;
  salesStartAt?: string | undefined;
  salesEndAt?: string | undefined;
  holdSeconds?: number | undefined;
  waitlistLimit?: number | undefined;
}

/** Inserts an event with every seat available. */
export async function insertEvent(db: Db, event: NewEvent): Promise<EventRow> {
  return db
    .insertInto('events')
    .values({
      id: event.id,
      name: event.name,
      capacity: event.capacity,
      available: event.capacity,
      max_per_user: event.maxPerUser ?? null,
      sales_start_at: event.salesStartAt ? new Date(event.salesStartAt) : null,
      sales_end_at: event.salesEndAt ? new Date(event.salesEndAt) : null,
      ...(event.holdSeconds !== undefined ? { hold_seconds: event.holdSeconds } : {}),
      ...(event.waitlistLimit !== undefined ? { waitlist_limit: event.waitlistLimit } : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The event with this id, if any. */
export async function findEventById(db: Db, id: string): Promise<EventRow | undefined> {
  return db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The public shape of an event row. */
export function toEventView(row: EventRow): EventView {
  return {
    id: row.id,
    name: row.name,
    capacity: row.capacity,
    available: row.available,
    maxPerUser: row.max_per_user,
    salesStartAt: row.sales_start_at?.toISOString() ?? null,
    salesEndAt: row.sales_end_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    ...(row.hold_seconds !== null ? { holdSeconds: row.hold_seconds } : {}),
    ...(row.waitlist_limit !== null ? { waitlistLimit: row.waitlist_limit } : {}),
  };
}

/** What the admission gate is rebuilt from: seats left and, with a per-user limit, seats per user. */
export async function loadGateSnapshot(
  db: Db,
  eventId: string,
): Promise<{ available: number; maxPerUser: number | null; confirmedByUser: Array<[string, number]> } | undefined> {
  const event = await db.selectFrom('events').select(['available', 'max_per_user']).where('id', '=', eventId).executeTakeFirst();
  if (!event) return undefined;
  let confirmedByUser: Array<[string, number]> = [];
  if (event.max_per_user !== null) {
    const rows = await db
      .selectFrom('bookings')
      .select(['user_id', (eb) => eb.fn.sum<number>('quantity').as('seats')])
      .where('event_id', '=', eventId)
      .where('status', 'in', ['held', 'confirmed'])
      .groupBy('user_id')
      .execute();
    confirmedByUser = rows.map((r) => [r.user_id, Number(r.seats)]);
  }
  return { available: event.available, maxPerUser: event.max_per_user, confirmedByUser };
}

/** Events whose sale is on now (newest first, at most `limit`) with their seats left. */
export async function listEventsOnSale(db: Db, now: Date, limit: number): Promise<Array<{ id: string; available: number }>> {
  return db
    .selectFrom('events')
    .select(['id', 'available'])
    .where((eb) => eb.or([eb('sales_end_at', 'is', null), eb('sales_end_at', '>', now)]))
    .where((eb) => eb.or([eb('sales_start_at', 'is', null), eb('sales_start_at', '<=', now)]))
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

/** Ids of the events whose sale is on now, in id order after `afterId`, at most `limit` (for paging). */
export async function listEventIdsOnSale(db: Db, now: Date, afterId: string | undefined, limit: number): Promise<string[]> {
  let query = db
    .selectFrom('events')
    .select('id')
    .where((eb) => eb.or([eb('sales_end_at', 'is', null), eb('sales_end_at', '>', now)]))
    .where((eb) => eb.or([eb('sales_start_at', 'is', null), eb('sales_start_at', '<=', now)]));
  if (afterId !== undefined) query = query.where('id', '>', afterId);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map((r) => r.id);
}

/** Where a scan of ended sales stands: the last event handled, by end of sale then id. */
export interface SaleEndCursor {
  /** The end of its sale as Postgres keeps it (microseconds, UTC), so that paging is exact. */
  salesEndAt: string;
  id: string;
}

/** Events whose sale ended after `after` (exclusive) and no later than `until`, in that order, at most `limit`. */
export async function listSalesEnded(db: Db, after: SaleEndCursor | undefined, until: Date, limit: number): Promise<SaleEndCursor[]> {
  const from = after ? sql`AND (sales_end_at, id) > (${after.salesEndAt}::timestamptz, ${after.id})` : sql``;
  const { rows } = await sql<{ id: string; sales_end_at: string }>`
    SELECT id, to_char(sales_end_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS sales_end_at
      FROM events
     WHERE sales_end_at IS NOT NULL AND sales_end_at <= ${until} ${from}
     ORDER BY sales_end_at, id
     LIMIT ${limit}`.execute(db);
  return rows.map((r) => ({ id: r.id, salesEndAt: r.sales_end_at }));
}
