import { type Kysely, sql } from 'kysely';

import * as previousDecideBookings from './2026-12-02T0400-decide-bookings-user-seats.ts';
import { CANCEL_BOOKING, CONFIRM_BOOKING, DECIDE_BOOKINGS, EXPIRE_HOLDS, PREVIOUS_CANCEL_BOOKING } from './2026-12-02T0500-holds.functions.ts';

// Frozen in time: this migration must never import application types.

// Holds and checkout. An event with `hold_seconds` gives a confirmed request a booking that is
// `held` until `expires_at`; it becomes `confirmed` (checkout) or `expired` (its seats return). The
// schema keeps the seats of held and confirmed bookings per event in `events.seats_taken`, maintained
// by statement-level triggers on bookings (one update per event per statement, so a batch of a
// thousand bookings costs one), and refuses more than capacity; another trigger refuses any status
// change other than held -> confirmed | expired | cancelled and confirmed -> cancelled.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE events ADD COLUMN hold_seconds integer CHECK (hold_seconds BETWEEN 5 AND 604800)`.execute(db);
  await sql`ALTER TABLE events ADD COLUMN seats_taken integer NOT NULL DEFAULT 0`.execute(db);
  await sql`
    UPDATE events e SET seats_taken = s.n
      FROM (SELECT event_id, sum(quantity)::integer AS n FROM bookings WHERE status = 'confirmed' GROUP BY event_id) s
     WHERE e.id = s.event_id`.execute(db);
  await sql`ALTER TABLE events ADD CONSTRAINT events_seats_taken_in_range CHECK (seats_taken BETWEEN 0 AND capacity)`.execute(db);

  await sql`ALTER TABLE bookings ADD COLUMN expires_at timestamptz`.execute(db);
  await sql`ALTER TABLE bookings ADD COLUMN confirmed_at timestamptz`.execute(db);
  await sql`ALTER TABLE bookings ADD COLUMN expired_at timestamptz`.execute(db);
  await sql`ALTER TABLE bookings DROP CONSTRAINT bookings_status_check`.execute(db);
  await sql`ALTER TABLE bookings ADD CONSTRAINT bookings_status_check CHECK (status IN ('held', 'confirmed', 'cancelled', 'expired'))`.execute(db);
  await sql`ALTER TABLE bookings ADD CONSTRAINT bookings_held_expires CHECK (status <> 'held' OR expires_at IS NOT NULL)`.execute(db);
  // The overdue holds, oldest first, across all events (what the workers look for every second).
  await sql`CREATE INDEX bookings_held_expires_idx ON bookings (expires_at, event_id) WHERE status = 'held'`.execute(db);
  // Seats per user count held bookings too (maxPerUser).
  await sql`CREATE INDEX bookings_event_user_taken_idx ON bookings (event_id, user_id) WHERE status IN ('held', 'confirmed')`.execute(db);

  await sql`
    CREATE FUNCTION bookings_status_transition() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF NEW.status = OLD.status
         OR (OLD.status = 'held' AND NEW.status IN ('confirmed', 'expired', 'cancelled'))
         OR (OLD.status = 'confirmed' AND NEW.status = 'cancelled') THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'booking % may not go from % to %', OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
    END
    $fn$`.execute(db);
  await sql`
    CREATE TRIGGER bookings_status_transition BEFORE UPDATE OF status ON bookings
      FOR EACH ROW EXECUTE FUNCTION bookings_status_transition()`.execute(db);
  await sql`
    CREATE FUNCTION bookings_seats_taken() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        UPDATE events e SET seats_taken = e.seats_taken + d.n
          FROM (SELECT event_id, sum(quantity)::integer AS n FROM new_rows
                 WHERE status IN ('held', 'confirmed') GROUP BY event_id) d
         WHERE e.id = d.event_id;
      ELSIF TG_OP = 'UPDATE' THEN
        UPDATE events e SET seats_taken = e.seats_taken + d.n
          FROM (SELECT event_id, sum(n)::integer AS n FROM (
                  SELECT event_id, quantity AS n FROM new_rows WHERE status IN ('held', 'confirmed')
                  UNION ALL
                  SELECT event_id, -quantity FROM old_rows WHERE status IN ('held', 'confirmed')) x
                 GROUP BY event_id) d
         WHERE e.id = d.event_id AND d.n <> 0;
      ELSE
        UPDATE events e SET seats_taken = e.seats_taken - d.n
          FROM (SELECT event_id, sum(quantity)::integer AS n FROM old_rows
                 WHERE status IN ('held', 'confirmed') GROUP BY event_id) d
         WHERE e.id = d.event_id;
      END IF;
      RETURN NULL;
    END
    $fn$`.execute(db);
  await sql`
    CREATE TRIGGER bookings_seats_taken_insert AFTER INSERT ON bookings REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bookings_seats_taken()`.execute(db);
  await sql`
    CREATE TRIGGER bookings_seats_taken_update AFTER UPDATE ON bookings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bookings_seats_taken()`.execute(db);
  await sql`
    CREATE TRIGGER bookings_seats_taken_delete AFTER DELETE ON bookings REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION bookings_seats_taken()`.execute(db);

  await sql.raw(DECIDE_BOOKINGS).execute(db);
  await sql.raw(CANCEL_BOOKING).execute(db);
  await sql.raw(CONFIRM_BOOKING).execute(db);
  await sql.raw(EXPIRE_HOLDS).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION expire_holds(text, bigint, integer)`.execute(db);
  await sql`DROP FUNCTION confirm_booking(text, bigint)`.execute(db);
  await sql`DROP TRIGGER bookings_seats_taken_delete ON bookings`.execute(db);
  await sql`DROP TRIGGER bookings_seats_taken_update ON bookings`.execute(db);
  await sql`DROP TRIGGER bookings_seats_taken_insert ON bookings`.execute(db);
  await sql`DROP FUNCTION bookings_seats_taken()`.execute(db);
  await sql`DROP TRIGGER bookings_status_transition ON bookings`.execute(db);
  await sql`DROP FUNCTION bookings_status_transition()`.execute(db);
  // Held bookings cannot be represented before holds: their seats go back; expired ones count as cancelled.
  await sql`
    UPDATE events e SET available = e.available + s.n
      FROM (SELECT event_id, sum(quantity)::integer AS n FROM bookings WHERE status = 'held' GROUP BY event_id) s
     WHERE e.id = s.event_id`.execute(db);
  await sql`
    UPDATE bookings SET status = 'cancelled', cancelled_at = coalesce(cancelled_at, expires_at, clock_timestamp())
     WHERE status IN ('held', 'expired')`.execute(db);
  await sql`DROP INDEX bookings_event_user_taken_idx`.execute(db);
  await sql`DROP INDEX bookings_held_expires_idx`.execute(db);
  await sql`ALTER TABLE bookings DROP CONSTRAINT bookings_held_expires`.execute(db);
  await sql`ALTER TABLE bookings DROP CONSTRAINT bookings_status_check`.execute(db);
  await sql`ALTER TABLE bookings ADD CONSTRAINT bookings_status_check CHECK (status IN ('confirmed', 'cancelled'))`.execute(db);
  await sql`ALTER TABLE bookings DROP COLUMN expired_at`.execute(db);
  await sql`ALTER TABLE bookings DROP COLUMN confirmed_at`.execute(db);
  await sql`ALTER TABLE bookings DROP COLUMN expires_at`.execute(db);
  await sql`ALTER TABLE events DROP COLUMN seats_taken`.execute(db);
  await sql`ALTER TABLE events DROP COLUMN hold_seconds`.execute(db);
  await sql.raw(PREVIOUS_CANCEL_BOOKING).execute(db);
  await previousDecideBookings.up(db);
}
