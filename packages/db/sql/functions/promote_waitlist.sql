-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/promote_waitlist.sql
--
-- Gives seats that came back to the event's waiting list first: in joining order, each entry that fits
-- (within maxPerUser) is confirmed (held where the event has holds); what no entry can use stays on sale.
CREATE OR REPLACE FUNCTION promote_waitlist(p_event_id text, p_epoch bigint DEFAULT NULL)
RETURNS TABLE (request_id text, user_id text, quantity integer, booking_id text, accepted_at timestamptz, decided_at timestamptz)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $fn$
#variable_conflict use_column
DECLARE
  v_available integer;
  v_max integer;
  v_epoch bigint;
  v_hold_seconds integer;
  v_wl_limit integer;
  v_users jsonb := '{}';
  v_seats integer;
  v_now timestamptz;
  v_last timestamptz := '-infinity';
  v_booking text;
  r record;
BEGIN
  SELECT e.available, e.max_per_user, e.lease_epoch, e.hold_seconds, e.waitlist_limit
    INTO v_available, v_max, v_epoch, v_hold_seconds, v_wl_limit
    FROM events e WHERE e.id = p_event_id FOR UPDATE;
  IF NOT FOUND OR v_wl_limit IS NULL THEN RETURN; END IF;
  IF p_epoch IS NOT NULL THEN
    IF p_epoch < v_epoch THEN
      RAISE EXCEPTION 'lease epoch % of event % is stale (now %)', p_epoch, p_event_id, v_epoch USING ERRCODE = 'BK409';
    ELSIF p_epoch > v_epoch THEN
      UPDATE events e SET lease_epoch = p_epoch WHERE e.id = p_event_id;
    END IF;
  END IF;
  IF v_available = 0 THEN RETURN; END IF;
  IF v_max IS NOT NULL THEN
    SELECT coalesce(jsonb_object_agg(s.user_id, s.seats), '{}') INTO v_users
      FROM (SELECT b.user_id, sum(b.quantity)::integer AS seats FROM bookings b
             WHERE b.event_id = p_event_id AND b.status IN ('held', 'confirmed')
               AND b.user_id IN (SELECT w.user_id FROM booking_requests w WHERE w.event_id = p_event_id AND w.status = 'waitlisted')
             GROUP BY b.user_id) s;
  END IF;
  FOR r IN
    SELECT w.id, w.user_id, w.quantity, w.accepted_at FROM booking_requests w
     WHERE w.event_id = p_event_id AND w.status = 'waitlisted'
     ORDER BY w.waitlisted_at, w.id
  LOOP
    EXIT WHEN v_available = 0;
    CONTINUE WHEN r.quantity > v_available;
    v_seats := coalesce((v_users->>r.user_id)::integer, 0);
    CONTINUE WHEN v_max IS NOT NULL AND v_seats + r.quantity > v_max;
    v_now := greatest(clock_timestamp(), v_last + interval '1 microsecond');
    v_last := v_now;
    v_booking := rtrim(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '=');
    UPDATE booking_requests w SET status = 'confirmed', decided_at = v_now WHERE w.id = r.id;
    INSERT INTO bookings (id, request_id, event_id, user_id, quantity, status, created_at, expires_at)
    VALUES (v_booking, r.id, p_event_id, r.user_id, r.quantity,
            CASE WHEN v_hold_seconds IS NULL THEN 'confirmed' ELSE 'held' END, v_now,
            v_now + make_interval(secs => v_hold_seconds));
    v_available := v_available - r.quantity;
    IF v_max IS NOT NULL THEN v_users := v_users || jsonb_build_object(r.user_id, v_seats + r.quantity); END IF;
    request_id := r.id; user_id := r.user_id; quantity := r.quantity; booking_id := v_booking;
    accepted_at := r.accepted_at; decided_at := v_now;
    RETURN NEXT;
  END LOOP;
  UPDATE events e SET available = v_available WHERE e.id = p_event_id AND e.available <> v_available;
END
$fn$;
