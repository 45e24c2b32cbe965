// Tables of the baseline strategies, in the bench database beside the service's own (never in the
// product's migrations): an event row with its seat count and a version, and one row per booking.
import type pg from 'pg';

export async function createStrategyTables(client: pg.ClientBase | pg.Pool): Promise<void> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS bench_events (
      id bigserial PRIMARY KEY,
      name text NOT NULL,
      capacity integer NOT NULL CHECK (capacity >= 1),
      available integer NOT NULL,
      version integer NOT NULL DEFAULT 0,
      -- The predecessor's safety net.
      CONSTRAINT bench_events_available_in_range CHECK (available >= 0 AND available <= capacity)
    )`);
  await client.query(`
    CREATE TABLE IF NOT EXISTS bench_bookings (
      id bigserial PRIMARY KEY,
      event_id bigint NOT NULL REFERENCES bench_events (id),
      user_id text NOT NULL,
      quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 10),
      created_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )`);
  await client.query('CREATE INDEX IF NOT EXISTS bench_bookings_event_idx ON bench_bookings (event_id)');
}
