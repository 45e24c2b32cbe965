-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/event_references_inserted.sql
--
-- Trigger (statement level, after INSERT on accepted_requests, booking_requests and bookings): the
-- foreign key of the rows' event_id to events, checked once per statement instead of once per row.
-- PostgreSQL checks a FOREIGN KEY with one query and one row lock per inserted row; for a batch of
-- 1,000 decisions those checks were about a fifth of decide_bookings and two fifths of a journal
-- insert (2026-12-06T2200-event-references). As a foreign key does, it locks the events referred to
-- (FOR KEY SHARE) until the transaction ends, so an event cannot be deleted under rows being written;
-- event_references_kept refuses to delete an event that rows refer to, and references_unchanged keeps
-- a row's event_id as it was written. For bookings it also requires each booking's request to be of
-- the same event (bookings.request_id stays a FOREIGN KEY to booking_requests).
CREATE OR REPLACE FUNCTION event_references_inserted() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_events integer;
  v_locked integer;
  v_missing text;
BEGIN
  SELECT count(DISTINCT n.event_id) INTO v_events FROM new_rows n;
  PERFORM 1 FROM events e WHERE e.id IN (SELECT n.event_id FROM new_rows n) FOR KEY SHARE OF e;
  GET DIAGNOSTICS v_locked = ROW_COUNT;
  IF v_locked < v_events THEN
    SELECT n.event_id INTO v_missing FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = n.event_id) LIMIT 1;
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%_event_id_fkey"', TG_TABLE_NAME, TG_TABLE_NAME
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, CONSTRAINT = TG_TABLE_NAME || '_event_id_fkey',
            DETAIL = format('Key (event_id)=(%s) is not present in table "events".', v_missing);
  END IF;
  IF TG_TABLE_NAME = 'bookings' THEN
    SELECT n.request_id INTO v_missing
      FROM new_rows n JOIN booking_requests br ON br.id = n.request_id
     WHERE br.event_id <> n.event_id
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'insert on table "bookings" violates its reference to booking_requests: the booking''s event is not its request''s'
        USING ERRCODE = 'foreign_key_violation', TABLE = 'bookings', CONSTRAINT = 'bookings_event_id_fkey',
              DETAIL = format('Key (request_id)=(%s) is of another event.', v_missing);
    END IF;
  END IF;
  RETURN NULL;
END
$fn$;
