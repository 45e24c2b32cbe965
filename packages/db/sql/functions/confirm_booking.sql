-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/confirm_booking.sql
--
-- Checkout: confirms a held booking in the event's order, by PostgreSQL's clock: before expires_at it
-- becomes confirmed; at or after it the hold expires there and then (its seats return) and the confirm
-- fails; a confirmed booking stays as it is. Fenced by the lease epoch like every decision.
CREATE OR REPLACE FUNCTION confirm_booking(p_booking_id text, p_epoch bigint DEFAULT NULL)
RETURNS TABLE (id text, event_id text, user_id text, quantity integer, status text, created_at timestamptz,
               cancelled_at timestamptz, expires_at timestamptz, confirmed_at timestamptz, expired_at timestamptz,
               changed boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $fn$
#variable_conflict use_column
DECLARE
  v_event text;
  v_epoch bigint;
  v_status text;
  v_expires timestamptz;
  v_quantity integer;
  v_now timestamptz;
  v_changed boolean := false;
BEGIN
  SELECT b.event_id INTO v_event FROM bookings b WHERE b.id = p_booking_id;
  IF NOT FOUND THEN RETURN; END IF;
  SELECT e.lease_epoch INTO v_epoch FROM events e WHERE e.id = v_event FOR UPDATE;
  IF p_epoch IS NOT NULL THEN
    IF p_epoch < v_epoch THEN
      RAISE EXCEPTION 'lease epoch % of event % is stale (now %)', p_epoch, v_event, v_epoch USING ERRCODE = 'BK409';
    ELSIF p_epoch > v_epoch THEN
      UPDATE events e SET lease_epoch = p_epoch WHERE e.id = v_event;
    END IF;
  END IF;
  SELECT b.status, b.expires_at, b.quantity INTO v_status, v_expires, v_quantity FROM bookings b WHERE b.id = p_booking_id;
  v_now := clock_timestamp();
  IF v_status = 'held' AND v_expires > v_now THEN
    UPDATE bookings b SET status = 'confirmed', confirmed_at = v_now WHERE b.id = p_booking_id;
    v_changed := true;
  ELSIF v_status = 'held' THEN
    UPDATE bookings b SET status = 'expired', expired_at = v_now WHERE b.id = p_booking_id;
    UPDATE events e SET available = e.available + v_quantity WHERE e.id = v_event;
    v_changed := true;
  END IF;
  RETURN QUERY
    SELECT b.id, b.event_id, b.user_id, b.quantity, b.status, b.created_at, b.cancelled_at, b.expires_at,
           b.confirmed_at, b.expired_at, v_changed
      FROM bookings b WHERE b.id = p_booking_id;
END
$fn$;
