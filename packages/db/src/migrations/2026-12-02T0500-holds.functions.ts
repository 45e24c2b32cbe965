// Frozen in time: the SQL functions of the 2026-12-02T0500-holds migration, each in full, as that
// migration defines them. Never edited once landed; a later change is a new migration.

// decide_bookings as in 2026-12-02T0400, except that on an event with hold_seconds the booking is
// created `held` with expires_at = decided_at + hold_seconds, and a user's seats for maxPerUser
// count held bookings too. Without hold_seconds it decides exactly as before.
export const DECIDE_BOOKINGS = `
    CREATE OR REPLACE FUNCTION decide_bookings(p_event_id text, p_requests jsonb, p_epoch bigint DEFAULT NULL)
    RETURNS TABLE (request_id text, status text, reason text, booking_id text, decided_at timestamptz, replayed boolean)
    LANGUAGE plpgsql
    -- Every lookup here goes by an index. Planned while the tables were small (or before statistics
    -- catch up with a sale), the statements would scan whole tables instead, making each batch about
    -- ten times slower as the sale goes on.
    SET plan_cache_mode = force_custom_plan
    SET enable_seqscan = off
    AS $fn$
    #variable_conflict use_column
    DECLARE
      v_available integer;
      v_max integer;
      v_epoch bigint;
      v_hold_seconds integer;
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
      SELECT e.available, e.max_per_user, e.lease_epoch, e.hold_seconds INTO v_available, v_max, v_epoch, v_hold_seconds
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

      IF v_max IS NOT NULL THEN
        SELECT coalesce(jsonb_object_agg(s.user_id, s.seats), '{}') INTO v_users
          FROM (SELECT b.user_id, sum(b.quantity)::integer AS seats
                  FROM bookings b
                 WHERE b.event_id = p_event_id AND b.status IN ('held', 'confirmed')
                   AND b.user_id = ANY (v_user_ids)
                 GROUP BY b.user_id) s;
      END IF;

      FOR r IN
        SELECT d.id, d.user_id, d.quantity, d.accepted_at, d.booking_id, d.idem_key, d.user_n
          FROM (SELECT DISTINCT ON (x->>'id')
                       x->>'id' AS id, x->>'userId' AS user_id, (x->>'quantity')::integer AS quantity,
                       (x->>'acceptedAt')::timestamptz AS accepted_at, x->>'bookingId' AS booking_id,
                       x->>'idempotencyKey' AS idem_key, o,
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
        IF v_reason IS NULL THEN
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
        a_statuses := a_statuses || CASE WHEN v_reason IS NULL THEN 'confirmed' ELSE 'rejected' END;
        a_reasons := a_reasons || v_reason;
        a_accepted := a_accepted || r.accepted_at;
        a_bookings := a_bookings || CASE WHEN v_reason IS NULL THEN r.booking_id END;
        a_times := a_times || v_now;
        a_keys := a_keys || r.idem_key;
      END LOOP;

      IF cardinality(a_ids) = 0 THEN RETURN; END IF;
      UPDATE events e SET available = v_available WHERE e.id = p_event_id AND e.available <> v_available;
      INSERT INTO booking_requests (id, event_id, user_id, quantity, status, reason, accepted_at, decided_at, idempotency_key)
        SELECT u.id, p_event_id, u.user_id, u.quantity, u.status, u.reason, u.accepted_at, u.decided_at, u.idem_key
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
    $fn$`;

// cancel_booking as in the initial schema, except that a held booking can be cancelled too, and a
// hold already past its expires_at becomes `expired` rather than `cancelled` (its seats return once
// either way). Returns the booking as it is afterwards (no row when it does not exist).
export const CANCEL_BOOKING = `
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
    $fn$`;

// Checkout of a held booking, decided in the event's order under its row lock: before expires_at
// (by the database's clock) the booking becomes confirmed; at or after it, the hold expires here
// and its seats return, exactly as expire_holds would have done (changed: this call did either).
// A confirmed, cancelled or expired booking is left as it is. No row when the booking does not exist.
export const CONFIRM_BOOKING = `
    CREATE FUNCTION confirm_booking(p_booking_id text, p_epoch bigint DEFAULT NULL)
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
    $fn$`;

// Expires an event's holds whose expires_at has come (by the database's clock), oldest first, at
// most p_limit, and returns their seats, in one transaction under the event's row lock: a hold is
// expired once, and never after a confirm_booking that came first in the event's order. Returns
// the holds expired now (none when a redelivered job finds them done).
export const EXPIRE_HOLDS = `
    CREATE FUNCTION expire_holds(p_event_id text, p_epoch bigint DEFAULT NULL, p_limit integer DEFAULT 1000)
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
    $fn$`;

// The definitions these replace, restored by the migration's down.
export const PREVIOUS_CANCEL_BOOKING = `
    CREATE OR REPLACE FUNCTION cancel_booking(p_booking_id text, p_epoch bigint DEFAULT NULL)
    RETURNS SETOF bookings
    LANGUAGE plpgsql
    SET plan_cache_mode = force_custom_plan
    AS $fn$
    DECLARE
      v_event text;
      v_quantity integer;
      v_epoch bigint;
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
      UPDATE bookings b SET status = 'cancelled', cancelled_at = clock_timestamp()
       WHERE b.id = p_booking_id AND b.status = 'confirmed'
      RETURNING b.quantity INTO v_quantity;
      IF FOUND THEN
        UPDATE events e SET available = e.available + v_quantity WHERE e.id = v_event;
      END IF;
      RETURN QUERY SELECT * FROM bookings b WHERE b.id = p_booking_id;
    END
    $fn$`;
