import type { BookingView } from '@booking/domain';
import type { Selectable } from 'kysely';

import type { Db } from './connection.ts';
import type { BookingTable } from './database.ts';

export type BookingRow = Selectable<BookingTable>;

/** The booking with this id, if any. */
export async function findBookingById(db: Db, id: string): Promise<BookingRow | undefined> {
  return db.selectFrom('bookings').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The public shape of a booking row. */
export function toBookingView(row: BookingRow): BookingView {
  return {
    id: row.id,
    eventId: row.event_id,
    userId: row.user_id,
    quantity: row.quantity,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    ...(row.cancelled_at ? { cancelledAt: row.cancelled_at.toISOString() } : {}),
    ...(row.expires_at ? { expiresAt: row.expires_at.toISOString() } : {}),
  };
}
