import { type Kysely, sql } from 'kysely';

// Frozen in time: this migration must never import application types.
//
// Idempotency keys become durable: PostgreSQL keeps the key (its SHA-256, hex) of every request
// that came with one, in the journal from the moment it is written and in booking_requests from its
// decision on, so a retry with the same key after Redis lost its data still finds its first
// request. One request per key and event, enforced here too. Decisions are made by
// decide_bookings, decide_booking_batch with the key carried from the payload to the row (a new
// name, so the landed function and its migration stay as they were).

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE accepted_requests ADD COLUMN idempotency_key text CHECK (idempotency_key ~ '^[0-9a-f]{64}$')`.execute(db);
  await sql`ALTER TABLE booking_requests ADD COLUMN idempotency_key text CHECK (idempotency_key ~ '^[0-9a-f]{64}$')`.execute(db);
  await sql`
    CREATE UNIQUE INDEX accepted_requests_idempotency_key_idx ON accepted_requests (event_id, idempotency_key)
     WHERE idempotency_key IS NOT NULL`.execute(db);
  await sql`
    CREATE UNIQUE INDEX booking_requests_idempotency_key_idx ON booking_requests (event_id, idempotency_key)
     WHERE idempotency_key IS NOT NULL`.execute(db);

  // Decides a batch of an event's requests in one transaction, in the order given: see
  // decide_booking_batch in the initial migration, of which this is a copy that also records each
  // request's idempotency key (`idempotencyKey` in the payload).
  await sql`
    CREATE FUNCTION decide_bookings(p_event_id text, p_requests jsonb, p_epoch bigint DEFAULT NULL)
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
      a_keys text[] := '{}';
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
        SELECT d.id, d.user_id, d.quantity, d.accepted_at, d.booking_id, d.idem_key
          FROM (SELECT DISTINCT ON (x->>'id')
                       x->>'id' AS id, x->>'userId' AS user_id, (x->>'quantity')::integer AS quantity,
                       (x->>'acceptedAt')::timestamptz AS accepted_at, x->>'bookingId' AS booking_id,
                       x->>'idempotencyKey' AS idem_key, o
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
        a_keys := a_keys || r.idem_key;
      END LOOP;

      IF cardinality(a_ids) = 0 THEN RETURN; END IF;
      UPDATE events e SET available = v_available WHERE e.id = p_event_id AND e.available <> v_available;
      INSERT INTO booking_requests (id, event_id, user_id, quantity, status, reason, accepted_at, decided_at, idempotency_key)
        SELECT u.id, p_event_id, u.user_id, u.quantity, u.status, u.reason, u.accepted_at, u.decided_at, u.idem_key
          FROM unnest(a_ids, a_users, a_quantities, a_statuses, a_reasons, a_accepted, a_times, a_keys)
               AS u(id, user_id, quantity, status, reason, accepted_at, decided_at, idem_key);
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

}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION decide_bookings(text, jsonb, bigint)`.execute(db);
  await sql`DROP INDEX booking_requests_idempotency_key_idx`.execute(db);
  await sql`DROP INDEX accepted_requests_idempotency_key_idx`.execute(db);
  await sql`ALTER TABLE booking_requests DROP COLUMN idempotency_key`.execute(db);
  await sql`ALTER TABLE accepted_requests DROP COLUMN idempotency_key`.execute(db);
}
