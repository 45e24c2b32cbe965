-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/expire_holds.sql
--
-- Expires the event's holds that are due (oldest first, at most p_limit), returning their seats, in the
-- event's order and by PostgreSQL's clock, exactly once each. Fenced by the lease epoch.
CREATE OR REPLACE FUNCTION expire_holds(p_event_id text, p_epoch bigint DEFAULT NULL, p_limit integer DEFAULT 1000)
RETURNS TABLE (id text, user_id text, quantity integer, expires_at timestamptz, expired_at timestamptz)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $fn$
#variable_conflict use_column
DECLARE
  v_event text := p_event_id;
  v_epoch bigint;
  v_now timestamptz;
  a_ids text[];
  a_users text[];
  a_quantities integer[];
  a_expires timestamptz[];
BEGIN
  SELECT e.lease_epoch INTO v_epoch FROM events e WHERE e.id = v_event FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
  IF p_epoch IS NOT NULL THEN
    IF p_epoch < v_epoch THEN
      RAISE EXCEPTION 'lease epoch % of event % is stale (now %)', p_epoch, v_event, v_epoch USING ERRCODE = 'BK409';
    ELSIF p_epoch > v_epoch THEN
      UPDATE events e SET lease_epoch = p_epoch WHERE e.id = v_event;
    END IF;
  END IF;
  v_now := clock_timestamp();
  WITH due AS (
    SELECT b.id FROM bookings b
     WHERE b.status = 'held' AND b.expires_at <= v_now AND b.event_id = v_event
     ORDER BY b.expires_at, b.id
     LIMIT p_limit
  ), done AS (
    UPDATE bookings b SET status = 'expired', expired_at = v_now
      FROM due WHERE b.id = due.id
    RETURNING b.id, b.user_id, b.quantity, b.expires_at
  )
  SELECT coalesce(array_agg(d.id ORDER BY d.expires_at, d.id), '{}'),
         coalesce(array_agg(d.user_id ORDER BY d.expires_at, d.id), '{}'),
         coalesce(array_agg(d.quantity ORDER BY d.expires_at, d.id), '{}'),
         coalesce(array_agg(d.expires_at ORDER BY d.expires_at, d.id), '{}')
    INTO a_ids, a_users, a_quantities, a_expires
    FROM done d;
  IF cardinality(a_ids) = 0 THEN RETURN; END IF;
  UPDATE events e SET available = e.available + (SELECT sum(q)::integer FROM unnest(a_quantities) q) WHERE e.id = v_event;
  RETURN QUERY SELECT u.id, u.user_id, u.quantity, u.expires_at, v_now
    FROM unnest(a_ids, a_users, a_quantities, a_expires) WITH ORDINALITY AS u(id, user_id, quantity, expires_at, o)
   ORDER BY u.o;
END
$fn$;
