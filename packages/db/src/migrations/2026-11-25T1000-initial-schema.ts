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

  // One decision, atomically: the event row lock serializes every decision of an event whichever
  // worker makes it (the fence behind the queue's one-at-a-time delivery); a request decided before
  // (a redelivered job) gets its original decision back and changes nothing.
  await sql`
    CREATE FUNCTION decide_booking_request(
      p_request_id text, p_event_id text, p_user_id text, p_quantity integer,
      p_accepted_at timestamptz, p_booking_id text)
    RETURNS TABLE (status text, reason text, booking_id text, decided_at timestamptz, replayed boolean)
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      v_available integer;
      v_max integer;
      v_held integer;
      v_reason text;
      v_now timestamptz;
    BEGIN
      SELECT e.available, e.max_per_user INTO v_available, v_max
        FROM events e WHERE e.id = p_event_id FOR UPDATE;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'event % does not exist', p_event_id USING ERRCODE = 'foreign_key_violation';
      END IF;

      RETURN QUERY
        SELECT r.status, r.reason, b.id, r.decided_at, true
          FROM booking_requests r LEFT JOIN bookings b ON b.request_id = r.id
         WHERE r.id = p_request_id;
      IF FOUND THEN RETURN; END IF;

      DELETE FROM accepted_requests a WHERE a.id = p_request_id;
      IF v_max IS NOT NULL THEN
        SELECT coalesce(sum(b.quantity), 0) INTO v_held
          FROM bookings b
         WHERE b.event_id = p_event_id AND b.user_id = p_user_id AND b.status = 'confirmed';
        IF v_held + p_quantity > v_max THEN
          v_reason := 'USER_LIMIT_EXCEEDED';
        END IF;
      END IF;
      IF v_reason IS NULL AND v_available < p_quantity THEN
        v_reason := 'SOLD_OUT';
      END IF;

      v_now := clock_timestamp();
      IF v_reason IS NOT NULL THEN
        INSERT INTO booking_requests (id, event_id, user_id, quantity, status, reason, accepted_at, decided_at)
          VALUES (p_request_id, p_event_id, p_user_id, p_quantity, 'rejected', v_reason, p_accepted_at, v_now);
        RETURN QUERY SELECT 'rejected'::text, v_reason, NULL::text, v_now, false;
        RETURN;
      END IF;

      UPDATE events e SET available = e.available - p_quantity WHERE e.id = p_event_id;
      INSERT INTO booking_requests (id, event_id, user_id, quantity, status, reason, accepted_at, decided_at)
        VALUES (p_request_id, p_event_id, p_user_id, p_quantity, 'confirmed', NULL, p_accepted_at, v_now);
      INSERT INTO bookings (id, request_id, event_id, user_id, quantity, status, created_at)
        VALUES (p_booking_id, p_request_id, p_event_id, p_user_id, p_quantity, 'confirmed', v_now);
      RETURN QUERY SELECT 'confirmed'::text, NULL::text, p_booking_id, v_now, false;
    END
    $fn$`.execute(db);

  // Cancels a confirmed booking and returns its seats, once: a second cancel finds it cancelled and
  // changes nothing. Returns the booking as it is afterwards (no row when it does not exist).
  await sql`
    CREATE FUNCTION cancel_booking(p_booking_id text)
    RETURNS SETOF bookings
    LANGUAGE plpgsql AS $fn$
    DECLARE
      v_event text;
      v_quantity integer;
    BEGIN
      SELECT b.event_id INTO v_event FROM bookings b WHERE b.id = p_booking_id;
      IF NOT FOUND THEN RETURN; END IF;
      PERFORM 1 FROM events e WHERE e.id = v_event FOR UPDATE;
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
  await sql`DROP FUNCTION cancel_booking(text)`.execute(db);
  await sql`DROP FUNCTION decide_booking_request(text, text, text, integer, timestamptz, text)`.execute(db);
  await sql`DROP TABLE accepted_requests`.execute(db);
  await sql`DROP TABLE bookings`.execute(db);
  await sql`DROP TABLE booking_requests`.execute(db);
  await sql`DROP TABLE events`.execute(db);
}
