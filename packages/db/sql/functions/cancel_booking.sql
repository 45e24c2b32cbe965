-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/cancel_booking.sql
--
-- Cancels a confirmed booking and returns its seats, once: a second cancel finds it cancelled and
-- changes nothing. Returns the booking as it is afterwards (no row when it does not exist).
CREATE OR REPLACE FUNCTION cancel_booking(p_booking_id text, p_epoch bigint DEFAULT NULL)
RETURNS SETOF bookings
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $fn$
DECLARE
  v_event text;
  v_quantity integer;
  v_epoch bigint;
  v_now timestamptz;
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
  v_now := clock_timestamp();
  UPDATE bookings b
     SET status = CASE WHEN b.status = 'held' AND b.expires_at <= v_now THEN 'expired' ELSE 'cancelled' END,
         cancelled_at = CASE WHEN b.status = 'held' AND b.expires_at <= v_now THEN NULL ELSE v_now END,
         expired_at = CASE WHEN b.status = 'held' AND b.expires_at <= v_now THEN v_now END
   WHERE b.id = p_booking_id AND b.status IN ('held', 'confirmed')
  RETURNING b.quantity INTO v_quantity;
  IF FOUND THEN
    UPDATE events e SET available = e.available + v_quantity WHERE e.id = v_event;
  END IF;
  RETURN QUERY SELECT * FROM bookings b WHERE b.id = p_booking_id;
END
$fn$;
