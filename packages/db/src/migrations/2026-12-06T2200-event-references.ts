import { type Kysely, sql } from 'kysely';

// Frozen in time: this migration must never import application types.

// The references of accepted_requests, booking_requests and bookings to their event are checked once
// per statement instead of once per row. PostgreSQL checks a FOREIGN KEY with one query and one row
// lock per inserted row; a batch of 1,000 decisions inserts 2,000 rows that refer to the event, and
// the journal 1,000 more. Measured on a scratch database with pgbench (one call of decide_bookings
// for 1,000 new requests after the journal's insert of them, alternated against this migration's
// parent, three rounds): decide_bookings 61-66 -> 47-57 ms, the journal's insert 12.1-12.9 ->
// 6.9-8.3 ms.
// The triggers keep what the foreign keys kept: a row refers to an event that exists, locked
// (FOR KEY SHARE) while the row is written; an event that rows refer to is not deleted, renamed or
// truncated (deleting or renaming one needs READ COMMITTED); and, new, a booking's event is its
// request's, and a booking's request never changes. bookings.request_id stays a FOREIGN KEY: replaced
// by a join that locks the requests, the check cost more than the key. The functions' current
// sources are in packages/db/sql/functions (event_references_inserted, event_references_kept,
// references_unchanged).
//
// bookings_event_user_idx (event_id, user_id) WHERE status = 'confirmed' goes: since
// 2026-12-02T0500-holds, bookings_event_user_taken_idx (the same columns, held or confirmed) serves
// every lookup it served, and each confirmed booking paid for an entry in both.
const FUNCTIONS = `
CREATE OR REPLACE FUNCTION event_references_inserted() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_events integer;
  v_locked integer;
  v_missing text;
BEGIN
  SELECT count(DISTINCT n.event_id) INTO v_events FROM new_rows n;
  PERFORM 1 FROM events e WHERE e.id IN (SELECT n.event_id FROM new_rows n) FOR KEY SHARE OF e;
  GET DIAGNOSTICS v_locked = ROW_COUNT;
  IF v_locked < v_events THEN
    SELECT n.event_id INTO v_missing FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = n.event_id) LIMIT 1;
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%_event_id_fkey"', TG_TABLE_NAME, TG_TABLE_NAME
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, CONSTRAINT = TG_TABLE_NAME || '_event_id_fkey',
            DETAIL = format('Key (event_id)=(%s) is not present in table "events".', v_missing);
  END IF;
  IF TG_TABLE_NAME = 'bookings' THEN
    SELECT n.request_id INTO v_missing
      FROM new_rows n JOIN booking_requests br ON br.id = n.request_id
     WHERE br.event_id <> n.event_id
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'insert on table "bookings" violates its reference to booking_requests: the booking''s event is not its request''s'
        USING ERRCODE = 'foreign_key_violation', TABLE = 'bookings', CONSTRAINT = 'bookings_event_id_fkey',
              DETAIL = format('Key (request_id)=(%s) is of another event.', v_missing);
    END IF;
  END IF;
  RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION event_references_kept() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  v_table text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    IF EXISTS (SELECT 1 FROM booking_requests) THEN
      v_table := 'booking_requests';
    ELSIF EXISTS (SELECT 1 FROM accepted_requests) THEN
      v_table := 'accepted_requests';
    ELSIF EXISTS (SELECT 1 FROM bookings) THEN
      v_table := 'bookings';
    END IF;
    IF v_table IS NOT NULL THEN
      RAISE EXCEPTION 'cannot truncate table "events": table "%" refers to it; truncate that first', v_table
        USING ERRCODE = 'foreign_key_violation', TABLE = v_table, CONSTRAINT = v_table || '_event_id_fkey';
    END IF;
    RETURN NULL;
  END IF;
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'deleting or renaming an event needs READ COMMITTED (this transaction is %)', current_setting('transaction_isolation')
      USING ERRCODE = 'feature_not_supported', TABLE = 'events';
  END IF;
  IF EXISTS (SELECT 1 FROM booking_requests br WHERE br.event_id = OLD.id) THEN
    v_table := 'booking_requests';
  ELSIF EXISTS (SELECT 1 FROM accepted_requests a WHERE a.event_id = OLD.id) THEN
    v_table := 'accepted_requests';
  END IF;
  IF v_table IS NOT NULL THEN
    RAISE EXCEPTION 'update or delete on table "events" violates foreign key constraint "%_event_id_fkey" on table "%"', v_table, v_table
      USING ERRCODE = 'foreign_key_violation', TABLE = v_table, CONSTRAINT = v_table || '_event_id_fkey',
            DETAIL = format('Key (id)=(%s) is still referenced from table "%s".', OLD.id, v_table);
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$fn$;

CREATE OR REPLACE FUNCTION references_unchanged() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  -- Nested: a condition naming request_id would fail on the tables without it.
  IF TG_TABLE_NAME = 'bookings' THEN
    IF OLD.request_id IS DISTINCT FROM NEW.request_id THEN
      RAISE EXCEPTION 'request_id of table "bookings" never changes (% -> %)', OLD.request_id, NEW.request_id
        USING ERRCODE = 'foreign_key_violation', TABLE = 'bookings', CONSTRAINT = 'bookings_request_id_fkey';
    END IF;
  END IF;
  RAISE EXCEPTION 'event_id of table "%" never changes (% -> %)', TG_TABLE_NAME, OLD.event_id, NEW.event_id
    USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, CONSTRAINT = TG_TABLE_NAME || '_event_id_fkey';
END
$fn$;

`;

const CHILDREN = ['accepted_requests', 'booking_requests', 'bookings'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  // The new rule holds for the rows already there, or the migration stops here.
  const mismatched = await sql<{ id: string }>`
    SELECT b.id FROM bookings b JOIN booking_requests br ON br.id = b.request_id WHERE br.event_id <> b.event_id LIMIT 1`.execute(db);
  if (mismatched.rows.length > 0) {
    throw new Error(`booking ${mismatched.rows[0]!.id} is not of its request's event: fix it before this migration`);
  }
  await sql.raw(FUNCTIONS).execute(db);
  for (const table of CHILDREN) {
    await sql.raw(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_event_id_fkey`).execute(db);
    await sql
      .raw(
        `CREATE TRIGGER ${table}_event_references AFTER INSERT ON ${table}
           REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION event_references_inserted()`,
      )
      .execute(db);
    // A row's event never changes, nor a booking's request.
    const fixed = table === 'bookings' ? ['event_id', 'request_id'] : ['event_id'];
    const changed = fixed.map((c) => `OLD.${c} IS DISTINCT FROM NEW.${c}`).join(' OR ');
    await sql
      .raw(
        `CREATE TRIGGER ${table}_references_unchanged BEFORE UPDATE OF ${fixed.join(', ')} ON ${table}
           FOR EACH ROW WHEN (${changed}) EXECUTE FUNCTION references_unchanged()`,
      )
      .execute(db);
  }
  await sql`CREATE TRIGGER events_references_kept_delete BEFORE DELETE ON events FOR EACH ROW EXECUTE FUNCTION event_references_kept()`.execute(db);
  await sql`
    CREATE TRIGGER events_references_kept_update BEFORE UPDATE OF id ON events
      FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION event_references_kept()`.execute(db);
  await sql`CREATE TRIGGER events_references_kept_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION event_references_kept()`.execute(
    db,
  );
  await sql`DROP INDEX bookings_event_user_idx`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX bookings_event_user_idx ON bookings (event_id, user_id) WHERE status = 'confirmed'`.execute(db);
  await sql`DROP TRIGGER events_references_kept_truncate ON events`.execute(db);
  await sql`DROP TRIGGER events_references_kept_update ON events`.execute(db);
  await sql`DROP TRIGGER events_references_kept_delete ON events`.execute(db);
  for (const table of CHILDREN) {
    await sql.raw(`DROP TRIGGER ${table}_references_unchanged ON ${table}`).execute(db);
    await sql.raw(`DROP TRIGGER ${table}_event_references ON ${table}`).execute(db);
    await sql.raw(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_event_id_fkey FOREIGN KEY (event_id) REFERENCES events (id)`).execute(db);
  }
  await sql`DROP FUNCTION references_unchanged()`.execute(db);
  await sql`DROP FUNCTION event_references_kept()`.execute(db);
  await sql`DROP FUNCTION event_references_inserted()`.execute(db);
}
