-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/reject_waitlisted.sql
--
-- Takes a request off the event's waiting list (withdrawn, or the sale closed) as rejected with p_reason.
CREATE OR REPLACE FUNCTION reject_waitlisted(p_event_id text, p_request_id text, p_reason text, p_epoch bigint DEFAULT NULL)
RETURNS TABLE (request_id text, user_id text, quantity integer, accepted_at timestamptz, decided_at timestamptz)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $fn$
#variable_conflict use_column
DECLARE
  v_epoch bigint;
  v_end timestamptz;
  v_now timestamptz;
BEGIN
  SELECT e.lease_epoch, e.sales_end_at INTO v_epoch, v_end FROM events e WHERE e.id = p_event_id FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
  IF p_epoch IS NOT NULL THEN
    IF p_epoch < v_epoch THEN
      RAISE EXCEPTION 'lease epoch % of event % is stale (now %)', p_epoch, p_event_id, v_epoch USING ERRCODE = 'BK409';
    ELSIF p_epoch > v_epoch THEN
      UPDATE events e SET lease_epoch = p_epoch WHERE e.id = p_event_id;
    END IF;
  END IF;
  v_now := clock_timestamp();
  IF p_request_id IS NULL AND (v_end IS NULL OR v_end > v_now) THEN RETURN; END IF;
  RETURN QUERY
    UPDATE booking_requests w SET status = 'rejected', reason = p_reason, decided_at = v_now
     WHERE w.event_id = p_event_id AND w.status = 'waitlisted' AND (p_request_id IS NULL OR w.id = p_request_id)
    RETURNING w.id, w.user_id, w.quantity, w.accepted_at, w.decided_at;
END
$fn$;
