-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/event_id_unchanged.sql
--
-- Trigger (row level, before UPDATE OF event_id on accepted_requests, booking_requests and bookings,
-- when the value changes): a row's event is the one it was written for (event_references_inserted
-- checks it then). Nothing in the service moves a request or a booking to another event.
CREATE OR REPLACE FUNCTION event_id_unchanged() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'event_id of table "%" never changes (% -> %)', TG_TABLE_NAME, OLD.event_id, NEW.event_id
    USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
END
$fn$;
