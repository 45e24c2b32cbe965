-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/bookings_status_transition.sql
--
-- Trigger (BEFORE UPDATE OF status ON bookings): refuses any status change other than
-- held -> confirmed | expired | cancelled and confirmed -> cancelled.
CREATE OR REPLACE FUNCTION bookings_status_transition() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF NEW.status = OLD.status
     OR (OLD.status = 'held' AND NEW.status IN ('confirmed', 'expired', 'cancelled'))
     OR (OLD.status = 'confirmed' AND NEW.status = 'cancelled') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'booking % may not go from % to %', OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
END
$fn$;
