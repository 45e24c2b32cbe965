// The references of journal rows, decided requests and bookings to their event, which triggers
// check once per statement (2026-12-06T2200-event-references) where foreign keys checked each row:
// every refusal a foreign key made is still made, with its SQLSTATE (23503), also when a deletion
// and a write race.
import { decideBookingBatch, insertEvent } from '@booking/db';
import { createTestDatabase, type TestDatabase } from '@booking/test-support';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FOREIGN_KEY_VIOLATION = '23503';

const request = (id: string, userId = `user-${id}`) => ({
  requestId: id,
  userId,
  quantity: 1,
  acceptedAt: new Date().toISOString(),
  bookingId: `b-${id}`,
});

async function sqlState(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

const journalRow = (client: pg.Pool | pg.PoolClient, id: string, eventId: string) =>
  client.query(`INSERT INTO accepted_requests (id, event_id, user_id, quantity, accepted_at) VALUES ($1, $2, 'u', 1, now())`, [
    id,
    eventId,
  ]);

describe('references to events, checked per statement', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(4);
    await insertEvent(database.db, { id: 'sale', name: 'Sale', capacity: 10 });
    await insertEvent(database.db, { id: 'other', name: 'Other', capacity: 10 });
    await decideBookingBatch(database.db, 'sale', [request('r1'), request('r2')]);
    // A request of 'sale' without a booking, for the bookings below to name.
    await database.pool.query(
      `INSERT INTO booking_requests (id, event_id, user_id, quantity, status, reason, accepted_at) VALUES ('lonely', 'sale', 'u', 1, 'rejected', 'SOLD_OUT', now())`,
    );
  });
  afterAll(async () => {
    await database.drop();
  });

  it('refuse a row of an event that does not exist, in a statement with rows of events that do', async () => {
    const { pool } = database;
    expect(await sqlState(journalRow(pool, 'orphan', 'no-such-event'))).toBe(FOREIGN_KEY_VIOLATION);
    expect(
      await sqlState(
        pool.query(
          `INSERT INTO accepted_requests (id, event_id, user_id, quantity, accepted_at)
           VALUES ('fine', 'sale', 'u', 1, now()), ('lost', 'no-such-event', 'u', 1, now())`,
        ),
      ),
    ).toBe(FOREIGN_KEY_VIOLATION);
    expect(
      await sqlState(
        pool.query(
          `INSERT INTO booking_requests (id, event_id, user_id, quantity, status, accepted_at)
           VALUES ('orphan-request', 'no-such-event', 'u', 1, 'confirmed', now())`,
        ),
      ),
    ).toBe(FOREIGN_KEY_VIOLATION);
    expect(
      await sqlState(
        pool.query(
          `INSERT INTO bookings (id, request_id, event_id, user_id, quantity, status)
           VALUES ('orphan-booking', 'lonely', 'no-such-event', 'u', 1, 'confirmed')`,
        ),
      ),
    ).toBe(FOREIGN_KEY_VIOLATION);
    const left = await pool.query(`SELECT id FROM accepted_requests WHERE id IN ('orphan', 'fine', 'lost')`);
    expect(left.rows).toEqual([]);
  });

  it('refuse a booking whose request is of another event, and one whose request does not exist', async () => {
    const { pool } = database;
    const insert = (id: string, requestId: string, eventId: string) =>
      pool.query(
        `INSERT INTO bookings (id, request_id, event_id, user_id, quantity, status, cancelled_at) VALUES ($1, $2, $3, 'u', 1, 'cancelled', now())`,
        [id, requestId, eventId],
      );
    // 'other' exists; request 'lonely' is of 'sale'.
    expect(await sqlState(insert('cross', 'lonely', 'other'))).toBe(FOREIGN_KEY_VIOLATION);
    expect(await sqlState(insert('nowhere', 'no-such-request', 'sale'))).toBe(FOREIGN_KEY_VIOLATION);
    const left = await pool.query(`SELECT id FROM bookings WHERE id IN ('cross', 'nowhere')`);
    expect(left.rows).toEqual([]);
    // The same booking for the request's own event is written.
    expect((await insert('own', 'lonely', 'sale')).rowCount).toBe(1);
  });

  it('keep an event that rows refer to from being deleted, renamed or truncated, and a row from moving to another event or request', async () => {
    const { pool } = database;
    expect(await sqlState(pool.query(`DELETE FROM events WHERE id = 'sale'`))).toBe(FOREIGN_KEY_VIOLATION);
    expect(await sqlState(pool.query(`UPDATE events SET id = 'renamed' WHERE id = 'sale'`))).toBe(FOREIGN_KEY_VIOLATION);
    for (const table of ['booking_requests', 'bookings']) {
      expect(await sqlState(pool.query(`UPDATE ${table} SET event_id = 'other' WHERE event_id = 'sale'`)), table).toBe(
        FOREIGN_KEY_VIOLATION,
      );
    }
    await insertEvent(database.db, { id: 'journal-only', name: 'Journal only', capacity: 1 });
    await journalRow(pool, 'j1', 'journal-only');
    expect(await sqlState(pool.query(`DELETE FROM events WHERE id = 'journal-only'`))).toBe(FOREIGN_KEY_VIOLATION);
    expect(await sqlState(pool.query(`UPDATE accepted_requests SET event_id = 'other' WHERE id = 'j1'`))).toBe(FOREIGN_KEY_VIOLATION);

    // Nor is a booking moved to another request, nor events truncated under the rows.
    expect(await sqlState(pool.query(`UPDATE bookings SET request_id = 'lonely' WHERE request_id = 'r1'`))).toBe(FOREIGN_KEY_VIOLATION);
    expect(await sqlState(pool.query('TRUNCATE events'))).toBe(FOREIGN_KEY_VIOLATION);
    // A deletion checks what is committed, which only READ COMMITTED shows it: refused otherwise.
    const client = await pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await insertEvent(database.db, { id: 'isolated', name: 'Isolated', capacity: 1 });
      expect(await sqlState(client.query(`DELETE FROM events WHERE id = 'isolated'`))).toBe('0A000');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect((await pool.query(`DELETE FROM events WHERE id = 'isolated'`)).rowCount).toBe(1);

    const kept = await pool.query(`SELECT count(*)::int AS n FROM booking_requests WHERE event_id = 'sale'`);
    expect(kept.rows[0].n).toBe(3);
    // An event nothing refers to goes, and any other update of a row is left alone.
    await insertEvent(database.db, { id: 'unused', name: 'Unused', capacity: 1 });
    expect((await pool.query(`DELETE FROM events WHERE id = 'unused'`)).rowCount).toBe(1);
    expect((await pool.query(`UPDATE events SET name = 'Sale!' WHERE id = 'sale'`)).rowCount).toBe(1);
    expect((await pool.query(`UPDATE accepted_requests SET event_id = event_id, quantity = 2 WHERE id = 'j1'`)).rowCount).toBe(1);
  });

  it('hold when a deletion and a write race, whichever locks the event first', async () => {
    const { pool } = database;
    // The write first: its statement locks the event until it commits; the deletion waits, then sees the row.
    await insertEvent(database.db, { id: 'race-1', name: 'Race 1', capacity: 1 });
    const writer = await pool.connect();
    try {
      await writer.query('BEGIN');
      await journalRow(writer, 'race-1-row', 'race-1');
      const deletion = sqlState(pool.query(`DELETE FROM events WHERE id = 'race-1'`));
      await waitUntilBlocked(pool, `DELETE FROM events WHERE id = 'race-1'`);
      await writer.query('COMMIT');
      expect(await deletion).toBe(FOREIGN_KEY_VIOLATION);
    } finally {
      writer.release();
    }
    expect((await pool.query(`SELECT count(*)::int AS n FROM events WHERE id = 'race-1'`)).rows[0].n).toBe(1);

    // The deletion first: the write waits for it, then finds no event and is refused.
    await insertEvent(database.db, { id: 'race-2', name: 'Race 2', capacity: 1 });
    const deleter = await pool.connect();
    try {
      await deleter.query('BEGIN');
      await deleter.query(`DELETE FROM events WHERE id = 'race-2'`);
      const write = sqlState(journalRow(pool, 'race-2-row', 'race-2'));
      await waitUntilBlocked(pool, 'INSERT INTO accepted_requests');
      await deleter.query('COMMIT');
      expect(await write).toBe(FOREIGN_KEY_VIOLATION);
    } finally {
      deleter.release();
    }
    expect((await pool.query(`SELECT count(*)::int AS n FROM accepted_requests WHERE event_id = 'race-2'`)).rows[0].n).toBe(0);
  });
});

/** Resolves once a backend of this database running a statement that contains `text` waits for a lock. */
async function waitUntilBlocked(pool: pg.Pool, text: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const found = await pool.query(
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND position($1 IN query) > 0 AND pid <> pg_backend_pid()`,
      [text],
    );
    if (found.rowCount) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no backend waited for a lock running ${text}`);
}
