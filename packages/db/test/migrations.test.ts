import { type Db, insertEvent, migrateToLatest, migrateToNothing, MIGRATIONS, PgErrorCode } from '@booking/db';
import { createTestDatabase, type TestDatabase } from '@booking/test-support';
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Tables and functions the contract's guarantees rest on (the schema may hold more). */
const TABLES = ['booking_requests', 'bookings', 'events'];
const FUNCTIONS = ['cancel_booking', 'decide_booking_batch', 'decide_bookings'];

/**
 * Every table, function, constraint, trigger and index of the public schema, apart from Kysely's own
 * bookkeeping (constraints, triggers and indexes as `table.name`).
 */
async function schemaObjects(db: Db): Promise<Record<'tables' | 'functions' | 'constraints' | 'triggers' | 'indexes', string[]>> {
  const names = async (query: ReturnType<typeof sql<{ name: string }>>) => (await query.execute(db)).rows.map((r) => r.name);
  return {
    tables: await names(sql`
      SELECT table_name AS name FROM information_schema.tables
       WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_migration%' ORDER BY 1`),
    functions: await names(sql`
      SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'public' ORDER BY 1`),
    constraints: await names(sql`
      SELECT c.conrelid::regclass::text || '.' || c.conname AS name FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
       WHERE n.nspname = 'public' AND c.conrelid::regclass::text NOT LIKE 'kysely_migration%' ORDER BY 1`),
    triggers: await names(sql`
      SELECT t.tgrelid::regclass::text || '.' || t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND NOT t.tgisinternal ORDER BY 1`),
    indexes: await names(sql`
      SELECT tablename || '.' || indexname AS name FROM pg_indexes
       WHERE schemaname = 'public' AND tablename NOT LIKE 'kysely_migration%' ORDER BY 1`),
  };
}

/** The Postgres error code `promise` fails with (and a test failure if it succeeds). */
async function pgErrorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  throw new Error('the statement succeeded');
}

describe('migrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(2);
  });
  afterAll(async () => {
    await database.drop();
  });

  it('go up, down and up again', async () => {
    const { db } = database;
    // The test database is a copy of a migrated template: everything is there to begin with.
    const migrated = await schemaObjects(db);
    expect(migrated.tables).toEqual(expect.arrayContaining(TABLES));
    expect(migrated.functions).toEqual(expect.arrayContaining(FUNCTIONS));
    const nothing = { tables: [], functions: [], constraints: [], triggers: [], indexes: [] };

    const down = await migrateToNothing(db);
    expect(down.length).toBeGreaterThan(0);
    expect(down.every((r) => r.direction === 'Down' && r.status === 'Success')).toBe(true);
    expect(await schemaObjects(db)).toEqual(nothing);

    const up = await migrateToLatest(db);
    expect(up.map((r) => r.migrationName)).toEqual(down.map((r) => r.migrationName).reverse());
    expect(up.every((r) => r.direction === 'Up' && r.status === 'Success')).toBe(true);
    expect(await schemaObjects(db)).toEqual(migrated);

    await migrateToNothing(db);
    expect(await schemaObjects(db)).toEqual(nothing);
    await migrateToLatest(db);
    expect(await schemaObjects(db)).toEqual(migrated);

    // Applying again is a no-op.
    expect(await migrateToLatest(db)).toEqual([]);
  });

  it("2026-12-06T2200-event-references goes down to its parent's foreign keys and index, and up again", async () => {
    const { db } = database;
    const latest = await schemaObjects(db);
    const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) } });
    const down = await migrator.migrateTo('2026-12-02T0600-waitlist');
    expect(down.error).toBeUndefined();
    expect(down.results?.map((r) => `${r.direction} ${r.migrationName} ${r.status}`)).toEqual([
      'Down 2026-12-06T2200-event-references Success',
    ]);
    const parent = await schemaObjects(db);
    const keys = ['accepted_requests', 'booking_requests', 'bookings'].map((t) => `${t}.${t}_event_id_fkey`);
    expect(parent.constraints).toEqual(expect.arrayContaining(keys));
    expect(parent.indexes).toContain('bookings.bookings_event_user_idx');
    expect(parent.triggers.filter((t) => /event_references|references_unchanged/.test(t))).toEqual([]);
    for (const key of keys) expect(latest.constraints).not.toContain(key);
    expect(latest.triggers).toEqual(expect.arrayContaining(['bookings.bookings_event_references', 'events.events_references_kept_delete']));

    await migrateToLatest(db);
    expect(await schemaObjects(db)).toEqual(latest);
  });
});

describe('the schema itself refuses', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase(2);
    db = database.db;
  });
  afterAll(async () => {
    await database.drop();
  });

  function eventRow(id: string, capacity: number, available: number) {
    return { id, name: 'Constraint test', capacity, available };
  }

  it('an event with more seats available than its capacity', async () => {
    const code = await pgErrorCode(
      db
        .insertInto('events')
        .values(eventRow('over', 5, 6))
        .execute(),
    );
    expect(code).toBe(PgErrorCode.CHECK_VIOLATION);
  });

  it('an event with fewer than 0 seats available', async () => {
    const code = await pgErrorCode(
      db
        .insertInto('events')
        .values(eventRow('under', 5, -1))
        .execute(),
    );
    expect(code).toBe(PgErrorCode.CHECK_VIOLATION);
  });

  it('taking more seats than are available', async () => {
    await insertEvent(db, { id: 'drain', name: 'Drain', capacity: 2 });
    const code = await pgErrorCode(
      db
        .updateTable('events')
        .set((eb) => ({ available: eb('available', '-', 3) }))
        .where('id', '=', 'drain')
        .execute(),
    );
    expect(code).toBe(PgErrorCode.CHECK_VIOLATION);
  });

  async function confirmedRequest(eventId: string, requestId: string): Promise<void> {
    await db
      .insertInto('booking_requests')
      .values({
        id: requestId,
        event_id: eventId,
        user_id: 'u',
        quantity: 1,
        status: 'confirmed',
        reason: null,
        accepted_at: new Date(),
      })
      .execute();
  }

  function booking(id: string, eventId: string, requestId: string) {
    return { id, request_id: requestId, event_id: eventId, user_id: 'u', quantity: 1, status: 'confirmed' as const };
  }

  it('a second booking for the same request', async () => {
    await insertEvent(db, { id: 'unique', name: 'Unique', capacity: 5 });
    await confirmedRequest('unique', 'unique.r1');
    await db
      .insertInto('bookings')
      .values(booking('b1', 'unique', 'unique.r1'))
      .execute();
    const code = await pgErrorCode(
      db
        .insertInto('bookings')
        .values(booking('b2', 'unique', 'unique.r1'))
        .execute(),
    );
    expect(code).toBe(PgErrorCode.UNIQUE_VIOLATION);
  });

  it('a booking whose request does not exist', async () => {
    await insertEvent(db, { id: 'orphan', name: 'Orphan', capacity: 5 });
    const code = await pgErrorCode(
      db
        .insertInto('bookings')
        .values(booking('b3', 'orphan', 'orphan.missing'))
        .execute(),
    );
    expect(code).toBe(PgErrorCode.FOREIGN_KEY_VIOLATION);
  });

  it('a booking request for an event that does not exist', async () => {
    const code = await pgErrorCode(confirmedRequest('no-such-event', 'no-such-event.r'));
    expect(code).toBe(PgErrorCode.FOREIGN_KEY_VIOLATION);
  });

  it('two requests of one event with the same idempotency key', async () => {
    await insertEvent(db, { id: 'keyed', name: 'Keyed', capacity: 5 });
    const key = 'a'.repeat(64);
    const keyed = (id: string) =>
      db
        .insertInto('booking_requests')
        .values({
          id,
          event_id: 'keyed',
          user_id: 'u',
          quantity: 1,
          status: 'confirmed',
          reason: null,
          accepted_at: new Date(),
          idempotency_key: key,
        })
        .execute();
    await keyed('keyed.r1');
    expect(await pgErrorCode(keyed('keyed.r2'))).toBe(PgErrorCode.UNIQUE_VIOLATION);
    const journalled = (id: string) =>
      db
        .insertInto('accepted_requests')
        .values({ id, event_id: 'keyed', user_id: 'u', quantity: 1, accepted_at: new Date(), idempotency_key: key })
        .execute();
    await journalled('keyed.j1');
    expect(await pgErrorCode(journalled('keyed.j2'))).toBe(PgErrorCode.UNIQUE_VIOLATION);
  });

  it('an idempotency key that is not a SHA-256 in hex', async () => {
    await insertEvent(db, { id: 'badkey', name: 'Bad key', capacity: 5 });
    const code = await pgErrorCode(
      db
        .insertInto('accepted_requests')
        .values({ id: 'badkey.j', event_id: 'badkey', user_id: 'u', quantity: 1, accepted_at: new Date(), idempotency_key: 'raw key' })
        .execute(),
    );
    expect(code).toBe(PgErrorCode.CHECK_VIOLATION);
  });
});
