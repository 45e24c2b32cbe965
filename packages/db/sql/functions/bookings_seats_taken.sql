-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/bookings_seats_taken.sql
--
-- Trigger (statement level, on bookings): keeps events.seats_taken, the seats of held and confirmed
-- bookings per event, one update per event per statement; CHECK (seats_taken BETWEEN 0 AND capacity).
CREATE OR REPLACE FUNCTION bookings_seats_taken() RETURNS trigger LANGUAGE plpgsql AS $fn$
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
$fn$;
