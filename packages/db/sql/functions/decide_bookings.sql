-- The current source of this function. The migrator applies it after the migrations whenever this
-- file changes (packages/db/src/sql-functions.ts); edit it here, never in a migration. It also runs
-- as it is: psql -v ON_ERROR_STOP=1 -f packages/db/sql/functions/decide_bookings.sql
--
-- Decides a batch of an event's requests in one transaction, in the order given (group commit): the
-- event row lock serializes every decision of the event whichever worker makes it (the fence behind
-- the queue's one-at-a-time delivery); a request decided before (a redelivered job) gets its
-- original decision back and changes nothing. Decisions are made in a loop over plain variables,
-- then written with one statement per table; each request's idempotency key (`idempotencyKey` in
-- the payload) is recorded with its decision. The seats each user holds go back into the map (a
-- jsonb value) only for users with more than one request in the batch. The rule it applies has a
-- plain-code reference in packages/domain/src/booking-rule.ts, and
-- packages/queue/test/booking-rule.property.test.ts checks that the two (and the admission gate) agree.
CREATE OR REPLACE FUNCTION decide_bookings(p_event_id text, p_requests jsonb, p_epoch bigint DEFAULT NULL)
RETURNS TABLE (request_id text, status text, reason text, booking_id text, decided_at timestamptz, replayed boolean)
LANGUAGE plpgsql
-- Every lookup here goes by an index. Planned while the tables were small (or before statistics
-- catch up with a sale), the statements would scan whole tables instead, making each batch about
-- ten times slower as the sale goes on. With sequential scans off the plans made then (PL/pgSQL
-- keeps them) go by the indexes; packages/db/test/lookup-plans.test.ts checks that, cached while
-- the event had no bookings, they read no more rows than the batch needs once it has 10,000. Made
-- for each call instead (force_custom_plan), planning cost about a fifth of a call of two requests
-- and over a third of PostgreSQL's time per decision in a drain of 1,000-request batches.
SET enable_seqscan = off
AS $fn$
#variable_conflict use_column
DECLARE
  v_available integer;
  v_max integer;
  v_epoch bigint;
  v_hold_seconds integer;
  v_wl_limit integer;
  v_wl_count integer := 0;
  v_status text;
  v_users jsonb := '{}';
  v_held integer;
  v_reason text;
  v_now timestamptz;
  v_last timestamptz := '-infinity';
  v_ids text[];
  v_user_ids text[];
  v_done text[];
  r record;
  a_ids text[] := '{}';
  a_users text[] := '{}';
  a_quantities integer[] := '{}';
  a_statuses text[] := '{}';
  a_reasons text[] := '{}';
  a_accepted timestamptz[] := '{}';
  a_bookings text[] := '{}';
  a_times timestamptz[] := '{}';
  a_keys text[] := '{}';
BEGIN
  SELECT e.available, e.max_per_user, e.lease_epoch, e.hold_seconds, e.waitlist_limit
    INTO v_available, v_max, v_epoch, v_hold_seconds, v_wl_limit
    FROM events e WHERE e.id = p_event_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'event % does not exist', p_event_id USING ERRCODE = 'foreign_key_violation';
  END IF;
  -- Fencing: a worker whose lease on the event has been taken over (it was paused, or cut off)
  -- holds an older epoch and may decide nothing more.
  IF p_epoch IS NOT NULL THEN
    IF p_epoch < v_epoch THEN
      RAISE EXCEPTION 'lease epoch % of event % is stale (now %)', p_epoch, p_event_id, v_epoch USING ERRCODE = 'BK409';
    ELSIF p_epoch > v_epoch THEN
      UPDATE events e SET lease_epoch = p_epoch WHERE e.id = p_event_id;
    END IF;
  END IF;

  -- Arrays (not subqueries over the JSON) keep the lookups below on their indexes.
  SELECT array_agg(x->>'id'), array_agg(DISTINCT x->>'userId') INTO v_ids, v_user_ids
    FROM jsonb_array_elements(p_requests) x;

  SELECT coalesce(array_agg(br.id), '{}') INTO v_done FROM booking_requests br WHERE br.id = ANY (v_ids);
  IF cardinality(v_done) > 0 THEN
    RETURN QUERY
      SELECT br.id, br.status, br.reason, b.id, br.decided_at, true
        FROM booking_requests br LEFT JOIN bookings b ON b.request_id = br.id
       WHERE br.id = ANY (v_done);
  END IF;

  IF v_wl_limit IS NOT NULL THEN
    SELECT count(*)::integer INTO v_wl_count FROM booking_requests br WHERE br.event_id = p_event_id AND br.status = 'waitlisted';
  END IF;

  IF v_max IS NOT NULL THEN
    -- One probe per user, by event and user together. As `b.user_id = ANY (v_user_ids)` the planner
    -- may probe by event alone and filter on the user (it does while the statistics know few of the
    -- event's bookings: a sale in progress, or an event new since the last ANALYZE), reading every
    -- booking of the event for each batch.
    SELECT coalesce(jsonb_object_agg(u.user_id, s.seats), '{}') INTO v_users
      FROM unnest(v_user_ids) AS u(user_id)
      CROSS JOIN LATERAL (SELECT sum(b.quantity)::integer AS seats
                            FROM bookings b
                           WHERE b.event_id = p_event_id AND b.user_id = u.user_id
                             AND b.status IN ('held', 'confirmed')) s
     WHERE s.seats IS NOT NULL;
  END IF;

  FOR r IN
    SELECT d.id, d.user_id, d.quantity, d.accepted_at, d.booking_id, d.idem_key, d.user_n, d.waitlist
      FROM (SELECT DISTINCT ON (x->>'id')
                   x->>'id' AS id, x->>'userId' AS user_id, (x->>'quantity')::integer AS quantity,
                   (x->>'acceptedAt')::timestamptz AS accepted_at, x->>'bookingId' AS booking_id,
                   x->>'idempotencyKey' AS idem_key, coalesce((x->>'waitlist')::boolean, false) AS waitlist, o,
                   count(*) OVER (PARTITION BY x->>'userId') AS user_n
              FROM jsonb_array_elements(p_requests) WITH ORDINALITY t(x, o)
             WHERE NOT (x->>'id' = ANY (v_done))
             ORDER BY x->>'id', o) d
     ORDER BY d.o
  LOOP
    v_reason := NULL;
    IF v_max IS NOT NULL THEN
      v_held := coalesce((v_users->>r.user_id)::integer, 0);
      IF v_held + r.quantity > v_max THEN
        v_reason := 'USER_LIMIT_EXCEEDED';
      END IF;
    END IF;
    IF v_reason IS NULL AND v_available < r.quantity THEN
      v_reason := 'SOLD_OUT';
    END IF;
    v_status := CASE WHEN v_reason IS NULL THEN 'confirmed' ELSE 'rejected' END;
    -- Sold out, asked for the waiting list, and the list has room: it joins the list.
    IF v_reason = 'SOLD_OUT' AND r.waitlist AND v_wl_limit IS NOT NULL AND v_wl_count < v_wl_limit THEN
      v_status := 'waitlisted';
      v_reason := NULL;
      v_wl_count := v_wl_count + 1;
    END IF;
    IF v_status = 'confirmed' THEN
      v_available := v_available - r.quantity;
      IF v_max IS NOT NULL AND r.user_n > 1 THEN
        v_users := v_users || jsonb_build_object(r.user_id, v_held + r.quantity);
      END IF;
    END IF;
    -- Strictly increasing decision times record the order of decisions.
    v_now := greatest(clock_timestamp(), v_last + interval '1 microsecond');
    v_last := v_now;
    a_ids := a_ids || r.id;
    a_users := a_users || r.user_id;
    a_quantities := a_quantities || r.quantity;
    a_statuses := a_statuses || v_status;
    a_reasons := a_reasons || v_reason;
    a_accepted := a_accepted || r.accepted_at;
    a_bookings := a_bookings || CASE WHEN v_status = 'confirmed' THEN r.booking_id END;
    a_times := a_times || v_now;
    a_keys := a_keys || r.idem_key;
  END LOOP;

  IF cardinality(a_ids) = 0 THEN RETURN; END IF;
  UPDATE events e SET available = v_available WHERE e.id = p_event_id AND e.available <> v_available;
  INSERT INTO booking_requests (id, event_id, user_id, quantity, status, reason, accepted_at, decided_at, idempotency_key, waitlisted_at)
    SELECT u.id, p_event_id, u.user_id, u.quantity, u.status, u.reason, u.accepted_at, u.decided_at, u.idem_key,
           CASE WHEN u.status = 'waitlisted' THEN u.decided_at END
      FROM unnest(a_ids, a_users, a_quantities, a_statuses, a_reasons, a_accepted, a_times, a_keys)
           AS u(id, user_id, quantity, status, reason, accepted_at, decided_at, idem_key);
  -- With holds, the booking is held until decided_at + hold_seconds (see confirm_booking, expire_holds).
  INSERT INTO bookings (id, request_id, event_id, user_id, quantity, status, created_at, expires_at)
    SELECT u.booking_id, u.id, p_event_id, u.user_id, u.quantity,
           CASE WHEN v_hold_seconds IS NULL THEN 'confirmed' ELSE 'held' END, u.decided_at,
           u.decided_at + make_interval(secs => v_hold_seconds)
      FROM unnest(a_ids, a_users, a_quantities, a_bookings, a_times) AS u(id, user_id, quantity, booking_id, decided_at)
     WHERE u.booking_id IS NOT NULL;
  DELETE FROM accepted_requests a WHERE a.id = ANY (a_ids);
  RETURN QUERY
    SELECT u.id, u.status, u.reason, u.booking_id, u.decided_at, false
      FROM unnest(a_ids, a_statuses, a_reasons, a_bookings, a_times) AS u(id, status, reason, booking_id, decided_at);
END
$fn$;
