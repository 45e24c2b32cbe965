import type { EventView } from '@booking/domain';
import type { Selectable } from 'kysely';

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
  };
}

/** What the admission gate is rebuilt from: seats left and, with a per-user limit, seats per user. */
export async function loadGateSnapshot(
  db: Db,
  eventId: string,
): Promise<{ available: number; maxPerUser: number | null; confirmedByUser: Array<[string, number]> } | undefined> {
  const event = await db
    .selectFrom('events')
    .select(['available', 'max_per_user'])
    .where('id', '=', eventId)
    .executeTakeFirst();
  if (!event) return undefined;
  let confirmedByUser: Array<[string, number]> = [];
  if (event.max_per_user !== null) {
    const rows = await db
      .selectFrom('bookings')
      .select(['user_id', (eb) => eb.fn.sum<number>('quantity').as('seats')])
      .where('event_id', '=', eventId)
      .where('status', '=', 'confirmed')
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
