import type { Db } from './connection.ts';

export interface AcceptedRequest {
  id: string;
  eventId: string;
  userId: string;
  quantity: number;
  acceptedAt: Date;
}

/** Journals accepted requests (one statement for the batch); rows already there are left as they are. */
export async function insertAcceptedRequests(db: Db, rows: AcceptedRequest[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('accepted_requests')
    .values(
      rows.map((r) => ({
        id: r.id,
        event_id: r.eventId,
        user_id: r.userId,
        quantity: r.quantity,
        accepted_at: r.acceptedAt,
      })),
    )
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** An accepted request not decided yet, if the journal has it. */
export async function findAcceptedRequest(db: Db, id: string): Promise<AcceptedRequest | undefined> {
  const row = await db.selectFrom('accepted_requests').selectAll().where('id', '=', id).executeTakeFirst();
  return row && { id: row.id, eventId: row.event_id, userId: row.user_id, quantity: row.quantity, acceptedAt: row.accepted_at };
}

/**
 * The event's journalled requests accepted up to `until` and still undecided, oldest first. Journal
 * rows written after their request was decided (the journal is written behind) are removed on the way.
 */
export async function listUndecidedAccepted(db: Db, eventId: string, until: Date): Promise<AcceptedRequest[]> {
  await db
    .deleteFrom('accepted_requests as a')
    .where('a.event_id', '=', eventId)
    .where(({ exists, selectFrom }) => exists(selectFrom('booking_requests as r').select('r.id').whereRef('r.id', '=', 'a.id')))
    .execute();
  const rows = await db
    .selectFrom('accepted_requests')
    .selectAll()
    .where('event_id', '=', eventId)
    .where('accepted_at', '<=', until)
    .orderBy('accepted_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, eventId: r.event_id, userId: r.user_id, quantity: r.quantity, acceptedAt: r.accepted_at }));
}

/** How many of the event's accepted requests older than `before` are undecided (a cheap health check). */
export async function countUndecidedAccepted(db: Db, eventId: string, before: Date): Promise<number> {
  const row = await db
    .selectFrom('accepted_requests')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('event_id', '=', eventId)
    .where('accepted_at', '<', before)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
