import { type Kysely, sql } from 'kysely';

// Frozen in time: this migration must never import application types.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE events (
      id text PRIMARY KEY,
      name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
      capacity integer NOT NULL CHECK (capacity BETWEEN 1 AND 1000000),
      available integer NOT NULL,
      max_per_user integer CHECK (max_per_user >= 1),
      sales_start_at timestamptz,
      sales_end_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      -- Fencing token of the worker lease that last decided for the event (see decide_booking_batch).
      lease_epoch bigint NOT NULL DEFAULT 0,
      CONSTRAINT events_available_in_range CHECK (available >= 0 AND available <= capacity),
      CONSTRAINT events_sales_window CHECK (sales_end_at IS NULL OR sales_start_at IS NULL OR sales_end_at > sales_start_at)
    )`.execute(db);

  await sql`
    CREATE TABLE booking_requests (
      id text PRIMARY KEY,
      event_id text NOT NULL REFERENCES events (id),
      user_id text NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 128),
      quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 10),
      status text NOT NULL CHECK (status IN ('confirmed', 'rejected')),
      reason text,
      accepted_at timestamptz NOT NULL,
      decided_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      CONSTRAINT booking_requests_reason_iff_rejected CHECK ((status = 'rejected') = (reason IS NOT NULL))
    )`.execute(db);
  await sql`CREATE INDEX booking_requests_event_idx ON booking_requests (event_id, decided_at)`.execute(db);

  await sql`
    CREATE TABLE bookings (
      id text PRIMARY KEY,
      request_id text NOT NULL UNIQUE REFERENCES booking_requests (id),
      event_id text NOT NULL REFERENCES events (id),
      user_id text NOT NULL,
      quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 10),
      status text NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      cancelled_at timestamptz,
      CONSTRAINT bookings_cancelled_at_iff_cancelled CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
    )`.execute(db);
  await sql`CREATE INDEX bookings_event_user_idx ON bookings (event_id, user_id) WHERE status = 'confirmed'`.execute(db);

  // Every request the API accepted and no worker has decided yet, written behind the 202 in batches.
  // If Redis loses queued jobs (flushed, restarted without persistence), workers find them here.
  await sql`
    CREATE TABLE accepted_requests (
      id text PRIMARY KEY,
      event_id text NOT NULL REFERENCES events (id),
      user_id text NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 128),
      quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 10),
      accepted_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX accepted_requests_event_idx ON accepted_requests (event_id, accepted_at)`.execute(db);

  // Decides a batch of an event's requests in one transaction, in the order given (group commit): the
  // event row lock serializes every decision of the event whichever worker makes it (the fence behind
  // the queue's one-at-a-time delivery); a request decided before (a redelivered job) gets its
  // original decision back and changes nothing. Decisions are made in a loop over plain variables,
  // then written with one statement per table.
  await sql`
    CREATE FUNCTION decide_booking_batch(p_event_id text, p_requests jsonb, p_epoch bigint DEFAULT NULL)
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
    BEGIN
      SELECT e.available, e.max_per_user, e.lease_epoch INTO v_available, v_max, v_epoch
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
                 WHERE b.event_id = p_event_id AND b.status = 'confirmed'
                   AND b.user_id = ANY (v_user_ids)
                 GROUP BY b.user_id) s;
      END IF;

      FOR r IN
        SELECT d.id, d.user_id, d.quantity, d.accepted_at, d.booking_id
          FROM (SELECT DISTINCT ON (x->>'id')
                       x->>'id' AS id, x->>'userId' AS user_id, (x->>'quantity')::integer AS quantity,
                       (x->>'acceptedAt')::timestamptz AS accepted_at, x->>'bookingId' AS booking_id, o
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
          IF v_max IS NOT NULL THEN
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
      END LOOP;

      IF cardinality(a_ids) = 0 THEN RETURN; END IF;
      UPDATE events e SET available = v_available WHERE e.id = p_event_id AND e.available <> v_available;
      INSERT INTO booking_requests (id, event_id, user_id, quantity, status, reason, accepted_at, decided_at)
        SELECT u.id, p_event_id, u.user_id, u.quantity, u.status, u.reason, u.accepted_at, u.decided_at
          FROM unnest(a_ids, a_users, a_quantities, a_statuses, a_reasons, a_accepted, a_times)
               AS u(id, user_id, quantity, status, reason, accepted_at, decided_at);
      INSERT INTO bookings (id, request_id, event_id, user_id, quantity, status, created_at)
        SELECT u.booking_id, u.id, p_event_id, u.user_id, u.quantity, 'confirmed', u.decided_at
          FROM unnest(a_ids, a_users, a_quantities, a_bookings, a_times) AS u(id, user_id, quantity, booking_id, decided_at)
         WHERE u.booking_id IS NOT NULL;
      DELETE FROM accepted_requests a WHERE a.id = ANY (a_ids);
      RETURN QUERY
        SELECT u.id, u.status, u.reason, u.booking_id, u.decided_at, false
          FROM unnest(a_ids, a_statuses, a_reasons, a_bookings, a_times) AS u(id, status, reason, booking_id, decided_at);
    END
    $fn$`.execute(db);

  // Cancels a confirmed booking and returns its seats, once: a second cancel finds it cancelled and
  // changes nothing. Returns the booking as it is afterwards (no row when it does not exist).
  await sql`
    CREATE FUNCTION cancel_booking(p_booking_id text, p_epoch bigint DEFAULT NULL)
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
    $fn$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION cancel_booking(text, bigint)`.execute(db);
  await sql`DROP FUNCTION decide_booking_batch(text, jsonb, bigint)`.execute(db);
  await sql`DROP TABLE accepted_requests`.execute(db);
  await sql`DROP TABLE bookings`.execute(db);
  await sql`DROP TABLE booking_requests`.execute(db);
  await sql`DROP TABLE events`.execute(db);
}
