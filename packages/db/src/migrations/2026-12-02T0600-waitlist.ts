import { type Kysely, sql } from 'kysely';

import { DECIDE_BOOKINGS as HOLDS_DECIDE_BOOKINGS } from './2026-12-02T0500-holds.functions.ts';
import { DECIDE_BOOKINGS, PROMOTE_WAITLIST, REJECT_WAITLISTED } from './2026-12-02T0600-waitlist.functions.ts';

// Frozen in time: this migration must never import application types.

// A waiting list per event (`waitlist_limit`): a request that asked for it and would be rejected
// SOLD_OUT is kept as `waitlisted` (joining order: waitlisted_at), promoted when seats come back
// (promote_waitlist), or rejected WITHDRAWN / SALES_CLOSED (reject_waitlisted). The journal keeps the
// request's wish, so a request recovered from it is decided the same way.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE events ADD COLUMN waitlist_limit integer CHECK (waitlist_limit BETWEEN 1 AND 100000)`.execute(db);
  await sql`ALTER TABLE booking_requests ADD COLUMN waitlisted_at timestamptz`.execute(db);
  await sql`ALTER TABLE booking_requests DROP CONSTRAINT booking_requests_status_check`.execute(db);
  await sql`ALTER TABLE booking_requests ADD CONSTRAINT booking_requests_status_check CHECK (status IN ('confirmed', 'rejected', 'waitlisted'))`.execute(db);
  await sql`ALTER TABLE booking_requests ADD CONSTRAINT booking_requests_waitlisted_at CHECK (status <> 'waitlisted' OR waitlisted_at IS NOT NULL)`.execute(db);
  await sql`CREATE INDEX booking_requests_waitlist_idx ON booking_requests (event_id, waitlisted_at, id) WHERE status = 'waitlisted'`.execute(db);
  await sql`ALTER TABLE accepted_requests ADD COLUMN waitlist boolean NOT NULL DEFAULT false`.execute(db);
  await sql.raw(DECIDE_BOOKINGS).execute(db);
  await sql.raw(PROMOTE_WAITLIST).execute(db);
  await sql.raw(REJECT_WAITLISTED).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION reject_waitlisted(text, text, text, bigint)`.execute(db);
  await sql`DROP FUNCTION promote_waitlist(text, bigint)`.execute(db);
  await sql.raw(HOLDS_DECIDE_BOOKINGS).execute(db);
  await sql`UPDATE booking_requests SET status = 'rejected', reason = 'SOLD_OUT' WHERE status = 'waitlisted'`.execute(db);
  await sql`ALTER TABLE accepted_requests DROP COLUMN waitlist`.execute(db);
  await sql`DROP INDEX booking_requests_waitlist_idx`.execute(db);
  await sql`ALTER TABLE booking_requests DROP CONSTRAINT booking_requests_waitlisted_at`.execute(db);
  await sql`ALTER TABLE booking_requests DROP CONSTRAINT booking_requests_status_check`.execute(db);
  await sql`ALTER TABLE booking_requests ADD CONSTRAINT booking_requests_status_check CHECK (status IN ('confirmed', 'rejected'))`.execute(db);
  await sql`ALTER TABLE booking_requests DROP COLUMN waitlisted_at`.execute(db);
  await sql`ALTER TABLE events DROP COLUMN waitlist_limit`.execute(db);
}
