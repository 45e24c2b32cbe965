-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/references_unchanged.sql
--
-- Trigger (row level, before UPDATE OF event_id on accepted_requests, booking_requests and bookings,
-- and OF request_id on bookings, when the value changes): a row's event is the one it was written
-- for, and a booking's request the one it was made for (event_references_inserted checks both then).
-- Nothing in the service moves a request or a booking to another event or request.
CREATE OR REPLACE FUNCTION references_unchanged() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  -- Nested: a condition naming request_id would fail on the tables without it.
  IF TG_TABLE_NAME = 'bookings' THEN
    IF OLD.request_id IS DISTINCT FROM NEW.request_id THEN
      RAISE EXCEPTION 'request_id of table "bookings" never changes (% -> %)', OLD.request_id, NEW.request_id
        USING ERRCODE = 'foreign_key_violation', TABLE = 'bookings', CONSTRAINT = 'bookings_request_id_fkey';
    END IF;
  END IF;
  RAISE EXCEPTION 'event_id of table "%" never changes (% -> %)', TG_TABLE_NAME, OLD.event_id, NEW.event_id
    USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, CONSTRAINT = TG_TABLE_NAME || '_event_id_fkey';
END
$fn$;
