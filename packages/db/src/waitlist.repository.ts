import { sql } from 'kysely';

import type { Db } from './connection.ts';
import { fenced } from './pg-errors.ts';

/** A waiting-list entry confirmed or rejected just now. */
export interface WaitlistOutcome {
  request_id: string;
  user_id: string;
  quantity: number;
  accepted_at: Date;
  decided_at: Date;
  /** The booking created, for an entry promoted. */
  booking_id?: string;
}

/** Entries on the waiting list per event, for the events with the most, at most `limit`. */
export async function listWaitlistLengths(db: Db, limit: number): Promise<Array<{ eventId: string; entries: number }>> {
  const { rows } = await sql<{ event_id: string; n: number }>`
    SELECT event_id, count(*)::integer AS n FROM booking_requests WHERE status = 'waitlisted'
     GROUP BY event_id ORDER BY 2 DESC LIMIT ${limit}`.execute(db);
  return rows.map((r) => ({ eventId: r.event_id, entries: r.n }));
}

/** Gives the event's free seats to its waiting list, in joining order, first fit (`promote_waitlist`). */
export async function promoteWaitlist(db: Db, eventId: string, epoch?: number): Promise<WaitlistOutcome[]> {
  const { rows } = await fenced(sql<WaitlistOutcome>`SELECT * FROM promote_waitlist(${eventId}, ${epoch ?? null}::bigint)`.execute(db));
  return rows;
}

/**
 * Takes one request off the waiting list (`WITHDRAWN`), or with no request id every entry of an
 * event whose sale has ended (`SALES_CLOSED`); returns the requests rejected now.
 */
export async function rejectWaitlisted(
  db: Db,
  eventId: string,
  requestId: string | null,
  reason: 'WITHDRAWN' | 'SALES_CLOSED',
  epoch?: number,
): Promise<WaitlistOutcome[]> {
  const { rows } = await fenced(
    sql<WaitlistOutcome>`
    SELECT * FROM reject_waitlisted(${eventId}, ${requestId}::text, ${reason}, ${epoch ?? null}::bigint)`.execute(db),
  );
  return rows;
}

/**
 * Runs a change that may give seats back (a cancellation, a hold's expiry) and the waiting list's
 * promotion in one transaction, so nobody can see the seats back and the list not yet served: once
 * a cancellation is answered, the entries that fit are confirmed. `promotes` says whether the change
 * gave seats back (no promotion otherwise); `promoted` is what the list got.
 */
export async function withPromotion<T>(
  db: Db,
  eventId: string,
  epoch: number | undefined,
  change: (trx: Db) => Promise<T>,
  promotes: (result: T) => boolean,
): Promise<{ result: T; promoted: WaitlistOutcome[] }> {
  return db.transaction().execute(async (trx) => {
    const result = await change(trx);
    const promoted = promotes(result) ? await promoteWaitlist(trx, eventId, epoch) : [];
    return { result, promoted };
  });
}
