import { sql } from 'kysely';

import type { Db } from './connection.ts';

export interface AcceptedRequest {
  id: string;
  eventId: string;
  userId: string;
  quantity: number;
  acceptedAt: Date;
}

/**
 * Journals accepted requests (one statement for the batch). Rows already there, and requests a worker
 * has decided meanwhile (the journal is written behind), are left out.
 */
export async function insertAcceptedRequests(db: Db, rows: AcceptedRequest[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    INSERT INTO accepted_requests (id, event_id, user_id, quantity, accepted_at)
    SELECT v.id, v.event_id, v.user_id, v.quantity, v.accepted_at
      FROM unnest(${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.eventId)}::text[],
                  ${rows.map((r) => r.userId)}::text[], ${rows.map((r) => r.quantity)}::integer[],
                  ${rows.map((r) => r.acceptedAt.toISOString())}::timestamptz[])
           AS v(id, event_id, user_id, quantity, accepted_at)
     WHERE NOT EXISTS (SELECT 1 FROM booking_requests r WHERE r.id = v.id)
    ON CONFLICT (id) DO NOTHING`.execute(db);
}

/** Removes journal rows of requests already decided (written after their decision); returns how many. */
export async function pruneDecidedAccepted(db: Db, eventId: string): Promise<number> {
  const result = await db
    .deleteFrom('accepted_requests as a')
    .where('a.event_id', '=', eventId)
    .where(({ exists, selectFrom }) => exists(selectFrom('booking_requests as r').select('r.id').whereRef('r.id', '=', 'a.id')))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
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
  await pruneDecidedAccepted(db, eventId);
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
