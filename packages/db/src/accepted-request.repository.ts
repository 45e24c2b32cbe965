import { type Selectable, sql } from 'kysely';

import type { Db } from './connection.ts';
import type { AcceptedRequestTable } from './database.ts';

export interface AcceptedRequest {
  id: string;
  eventId: string;
  userId: string;
  quantity: number;
  acceptedAt: Date;
  /** SHA-256 (hex) of the request's Idempotency-Key, when it came with one. */
  idempotencyKey?: string | null | undefined;
  /** Join the waiting list rather than be rejected SOLD_OUT. */
  waitlist?: boolean | undefined;
}

/**
 * Journals accepted requests (one statement for the batch). Rows already there, and requests a worker
 * has decided meanwhile (the journal is written behind), are left out.
 */
export async function insertAcceptedRequests(db: Db, rows: AcceptedRequest[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    INSERT INTO accepted_requests (id, event_id, user_id, quantity, accepted_at, idempotency_key, waitlist)
    SELECT v.id, v.event_id, v.user_id, v.quantity, v.accepted_at, v.idempotency_key, v.waitlist
      FROM unnest(${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.eventId)}::text[],
                  ${rows.map((r) => r.userId)}::text[], ${rows.map((r) => r.quantity)}::integer[],
                  ${rows.map((r) => r.acceptedAt.toISOString())}::timestamptz[],
                  ${rows.map((r) => r.idempotencyKey ?? null)}::text[],
                  ${rows.map((r) => r.waitlist === true)}::boolean[])
           AS v(id, event_id, user_id, quantity, accepted_at, idempotency_key, waitlist)
     WHERE NOT EXISTS (SELECT 1 FROM booking_requests r WHERE r.id = v.id)
    ON CONFLICT DO NOTHING`.execute(db);
}

/** Removes journal rows of requests already decided (written after their decision); returns how many. */
export async function pruneDecidedAccepted(db: Db, eventId: string): Promise<number> {
  const result = await db
    .deleteFrom('accepted_requests as a')
    .where('a.event_id', '=', eventId)
    .where((eb) => eb.exists(eb.selectFrom('booking_requests as r').select('r.id').whereRef('r.id', '=', 'a.id')))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

function toAccepted(row: Selectable<AcceptedRequestTable>): AcceptedRequest {
  return {
    id: row.id,
    eventId: row.event_id,
    userId: row.user_id,
    quantity: row.quantity,
    acceptedAt: row.accepted_at,
    idempotencyKey: row.idempotency_key,
    ...(row.waitlist ? { waitlist: true } : {}),
  };
}

/**
 * The requests an event accepted with these Idempotency-Keys (their SHA-256, hex), decided or still
 * in the journal, in one query: by key hash, for those that name one.
 */
export async function findRequestsByIdempotencyKeys(
  db: Db,
  eventId: string,
  keyHashes: readonly string[],
): Promise<Map<string, { id: string; userId: string; quantity: number }>> {
  if (keyHashes.length === 0) return new Map();
  const keys = [...keyHashes];
  const { rows } = await sql<{ key: string; id: string; user_id: string; quantity: number }>`
    SELECT idempotency_key AS key, id, user_id, quantity FROM booking_requests
     WHERE event_id = ${eventId} AND idempotency_key = ANY (${keys}::text[])
    UNION ALL
    SELECT idempotency_key, id, user_id, quantity FROM accepted_requests
     WHERE event_id = ${eventId} AND idempotency_key = ANY (${keys}::text[])`.execute(db);
  const found = new Map<string, { id: string; userId: string; quantity: number }>();
  for (const r of rows) if (!found.has(r.key)) found.set(r.key, { id: r.id, userId: r.user_id, quantity: r.quantity });
  return found;
}

/** An accepted request not decided yet, if the journal has it. */
export async function findAcceptedRequest(db: Db, id: string): Promise<AcceptedRequest | undefined> {
  const row = await db.selectFrom('accepted_requests').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toAccepted(row);
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
  return rows.map(toAccepted);
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

/**
 * Of these request ids, those decided (a booking_requests row) and those journalled but undecided
 * (an accepted_requests row and no decision). Ids in neither were never accepted as far as Postgres
 * knows.
 */
export async function findRequestStates(db: Db, ids: string[]): Promise<{ decided: Set<string>; journalled: Set<string> }> {
  if (ids.length === 0) return { decided: new Set(), journalled: new Set() };
  const { rows } = await sql<{ id: string; decided: boolean }>`
    SELECT v.id, EXISTS (SELECT 1 FROM booking_requests r WHERE r.id = v.id) AS decided
      FROM unnest(${ids}::text[]) AS v(id)
     WHERE EXISTS (SELECT 1 FROM booking_requests r WHERE r.id = v.id)
        OR EXISTS (SELECT 1 FROM accepted_requests a WHERE a.id = v.id)`.execute(db);
  const decided = new Set<string>();
  const journalled = new Set<string>();
  for (const row of rows) (row.decided ? decided : journalled).add(row.id);
  return { decided, journalled };
}
