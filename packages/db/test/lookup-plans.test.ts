import { createDb, type Db, decideBookingBatch, insertEvent } from '@booking/db';
import { createTestDatabase, type TestDatabase } from '@booking/test-support';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A hot event's rows arrive faster than ANALYZE follows them: during a sale, or for an event new
// since the statistics were taken, PostgreSQL believes the event has few rows. Lookups by event and
// another column must then still probe by both, or each reads every row of the event (a cost that
// grows with the sale). These tests read the plans PostgreSQL chose (auto_explain, sent to the
// client as notices) in that state: the tables analyzed while they held another event's rows only,
// then the event's rows added (autovacuum off, so that they stay so).

const BOOKED = 10_000;

let test: TestDatabase;
let traced: { db: Db; plans: string[] };
const EVENT = 'evt_plans';

beforeAll(async () => {
  test = await createTestDatabase(2);
  for (const table of ['bookings', 'booking_requests', 'accepted_requests']) {
    await sql`ALTER TABLE ${sql.table(table)} SET (autovacuum_enabled = false)`.execute(test.db);
  }
  const book = async (eventId: string, from: number, count: number) => {
    const requests = Array.from({ length: count }, (_, k) => {
      const i = from + k;
      return {
        requestId: `req-${i}`,
        userId: `user-${i}`,
        quantity: 1,
        acceptedAt: new Date().toISOString(),
        bookingId: `bkg-${i}`,
      };
    });
    await decideBookingBatch(test.db, eventId, requests);
  };
  await insertEvent(test.db, { id: 'evt_earlier', name: 'earlier', capacity: 1_000 });
  await book('evt_earlier', -1_000, 1_000);
  await sql`ANALYZE bookings, booking_requests, accepted_requests`.execute(test.db);
  await insertEvent(test.db, { id: EVENT, name: 'plans', capacity: 100_000, maxPerUser: 4 });
  // One connection, so that the session settings below hold for every statement, and so that the
  // plans PL/pgSQL caches for it are made now, while the event has no bookings.
  const { db, pool } = createDb({ url: test.url, poolSize: 1, applicationName: 'booking-test-plans' });
  const plans: string[] = [];
  pool.on('connect', (client) => client.on('notice', (n) => plans.push(n.message ?? '')));
  for (let call = 0; call < 10; call++) {
    await decideBookingBatch(db, EVENT, [
      {
        requestId: `warm-${call}`,
        userId: `warm-${call}`,
        quantity: 1,
        acceptedAt: new Date().toISOString(),
        bookingId: `bkg-warm-${call}`,
      },
    ]);
  }
  // Then the event fills, through other connections.
  for (let from = 0; from < BOOKED; from += 1_000) await book(EVENT, from, 1_000);
  await sql`LOAD 'auto_explain'`.execute(db);
  await sql`SET auto_explain.log_min_duration = 0`.execute(db);
  await sql`SET auto_explain.log_analyze = on`.execute(db);
  await sql`SET auto_explain.log_nested_statements = on`.execute(db);
  await sql`SET auto_explain.log_level = notice`.execute(db);
  traced = { db, plans };
});

afterAll(async () => {
  await traced?.db.destroy();
  await test?.drop();
});

/** The plans of the statements run by `fn` whose text includes `marker`. */
async function plansOf(marker: string, fn: () => Promise<unknown>): Promise<string[]> {
  traced.plans.length = 0;
  await fn();
  return traced.plans.filter((p) => p.includes(marker));
}

describe('the seats a batch’s users hold, with statistics that know few of the event’s bookings', () => {
  it('the premise holds: as `= ANY (array)` the planner probes by event alone and filters the rest', async () => {
    // decide_bookings' statement before, under the function's settings.
    const [plan] = await plansOf('user_id = ANY', () =>
      traced.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL enable_seqscan = off`.execute(trx);
        await sql`SELECT b.user_id, sum(b.quantity)::integer AS seats
                    FROM bookings b
                   WHERE b.event_id = ${EVENT} AND b.status IN ('held', 'confirmed')
                     AND b.user_id = ANY (${['user-1', 'user-2']}::text[])
                   GROUP BY b.user_id`.execute(trx);
      }),
    );
    expect(plan).toMatch(/Rows Removed by Filter: \d{4}/);
  });

  it('decide_bookings looks up the seats each user holds by event and user together', async () => {
    const plans = await plansOf('FROM bookings b', () =>
      decideBookingBatch(traced.db, EVENT, [
        { requestId: 'req-new-1', userId: 'user-1', quantity: 1, acceptedAt: new Date().toISOString(), bookingId: 'bkg-new-1' },
        { requestId: 'req-new-2', userId: 'user-new', quantity: 1, acceptedAt: new Date().toISOString(), bookingId: 'bkg-new-2' },
      ]),
    );
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatch(/Index Cond: \(\(event_id = '?[\w$]+'?(::text)?\) AND \(user_id = /);
    expect(plans[0]).not.toMatch(/Rows Removed by Filter: [1-9]/);
  });

  it('no statement of decide_bookings reads the event’s rows one by one, with plans cached while it had none', async () => {
    traced.plans.length = 0;
    const decisions = await decideBookingBatch(traced.db, EVENT, [
      // Decided before: its decision is read back (replayed).
      { requestId: 'req-7', userId: 'user-7', quantity: 1, acceptedAt: new Date().toISOString(), bookingId: 'bkg-again-7' },
      { requestId: 'req-new-3', userId: 'user-8', quantity: 1, acceptedAt: new Date().toISOString(), bookingId: 'bkg-new-3' },
    ]);
    expect(decisions.get('req-7')).toMatchObject({ replayed: true, status: 'confirmed' });
    expect(decisions.get('req-new-3')).toMatchObject({ replayed: false, status: 'confirmed' });
    const statements = traced.plans.filter((p) => !p.includes('Query Text: SELECT * FROM decide_bookings'));
    expect(statements.length).toBeGreaterThan(5);
    for (const plan of statements) {
      expect(plan).not.toMatch(/Seq Scan on (bookings|booking_requests|accepted_requests|events)\b/);
      expect(plan).not.toMatch(/Rows Removed by (Filter|Index Recheck): \d{3,}/);
    }
  });
});
