-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/event_references_kept.sql
--
-- Trigger (row level, before DELETE or UPDATE OF id on events; statement level, before TRUNCATE):
-- the other side of event_references_inserted, as ON DELETE / ON UPDATE NO ACTION of a foreign key:
-- an event that journal rows or decided requests refer to is neither deleted nor renamed, and events
-- are not truncated while those tables hold rows (truncate them first). Bookings need no look of
-- their own: each refers to a request of the same event. Waiting for the event's row lock first,
-- the check sees every row committed by a transaction that locked the event to write them; it
-- needs READ COMMITTED for that (a foreign key uses a snapshot of its own, which a trigger cannot),
-- so under REPEATABLE READ or SERIALIZABLE a deletion or renaming is refused.
CREATE OR REPLACE FUNCTION event_references_kept() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_table text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    IF EXISTS (SELECT 1 FROM booking_requests) THEN
      v_table := 'booking_requests';
    ELSIF EXISTS (SELECT 1 FROM accepted_requests) THEN
      v_table := 'accepted_requests';
    ELSIF EXISTS (SELECT 1 FROM bookings) THEN
      v_table := 'bookings';
    END IF;
    IF v_table IS NOT NULL THEN
      RAISE EXCEPTION 'cannot truncate table "events": table "%" refers to it; truncate that first', v_table
        USING ERRCODE = 'foreign_key_violation', TABLE = v_table, CONSTRAINT = v_table || '_event_id_fkey';
    END IF;
    RETURN NULL;
  END IF;
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'deleting or renaming an event needs READ COMMITTED (this transaction is %)', current_setting('transaction_isolation')
      USING ERRCODE = 'feature_not_supported', TABLE = 'events';
  END IF;
  IF EXISTS (SELECT 1 FROM booking_requests br WHERE br.event_id = OLD.id) THEN
    v_table := 'booking_requests';
  ELSIF EXISTS (SELECT 1 FROM accepted_requests a WHERE a.event_id = OLD.id) THEN
    v_table := 'accepted_requests';
  END IF;
  IF v_table IS NOT NULL THEN
    RAISE EXCEPTION 'update or delete on table "events" violates foreign key constraint "%_event_id_fkey" on table "%"', v_table, v_table
      USING ERRCODE = 'foreign_key_violation', TABLE = v_table, CONSTRAINT = v_table || '_event_id_fkey',
            DETAIL = format('Key (id)=(%s) is still referenced from table "%s".', OLD.id, v_table);
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$fn$;
