import { createDb, type Db, decideBookingBatch, insertEvent } from '@booking/db';
import { createTestDatabase, type TestDatabase } from '@booking/test-support';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A hot event's rows arrive faster than ANALYZE follows them: during a sale, or for an event new
// since the statistics were taken, PostgreSQL believes the event has few rows. Lookups by event and
// another column must then still probe by both, or each reads every row of the event (a cost that
// grows with the sale). These tests read the plans PostgreSQL chose (auto_explain, sent to the
// client as notices) in that state: the tables analyzed while they held another event's rows only,
// then the event's rows added (autovacuum off, so that they stay so). decide_bookings' plans are
// cached (generic plans, made at its first calls) while the event has no bookings, as a worker's
// connection caches them at a sale's start.

const BOOKED = 10_000;
const EVENT = 'evt_plans';
const TABLES = 'bookings|booking_requests|accepted_requests|events';

let test: TestDatabase;
let traced: { db: Db; plans: string[]; pidBefore: number; pidAfter: number };

const pid = async (db: Db) => (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]!.pid;
const request = (id: string, userId: string) => ({
  requestId: id,
  userId,
  quantity: 1,
  acceptedAt: new Date().toISOString(),
  bookingId: `bkg-${id}`,
});

beforeAll(async () => {
  test = await createTestDatabase(2);
  for (const table of ['bookings', 'booking_requests', 'accepted_requests']) {
    await sql`ALTER TABLE ${sql.table(table)} SET (autovacuum_enabled = false)`.execute(test.db);
  }
  const book = async (eventId: string, from: number, count: number) => {
    const requests = Array.from({ length: count }, (_, k) => request(`req-${from + k}`, `user-${from + k}`));
    await decideBookingBatch(test.db, eventId, requests);
  };
  await insertEvent(test.db, { id: 'evt_earlier', name: 'earlier', capacity: 1_000 });
  await book('evt_earlier', -1_000, 1_000);
  await sql`ANALYZE bookings, booking_requests, accepted_requests`.execute(test.db);
  // Every path of decide_bookings: a per-user limit, holds, a waiting list.
  await insertEvent(test.db, { id: EVENT, name: 'plans', capacity: 100_000, maxPerUser: 4, holdSeconds: 600, waitlistLimit: 100 });
  // One connection, so that the session settings below hold for every statement, and so that the
  // plans PL/pgSQL caches for it are made now, while the event has no bookings: generic plans (the
  // function leaves plan_cache_mode to the session), the ones a long-lived connection ends up with.
  const { db, pool } = createDb({ url: test.url, poolSize: 1, applicationName: 'booking-test-plans' });
  const plans: string[] = [];
  pool.on('connect', (client) => client.on('notice', (n) => plans.push(n.message ?? '')));
  await sql`SET plan_cache_mode = force_generic_plan`.execute(db);
  const pidBefore = await pid(db);
  for (let call = 0; call < 3; call++) {
    // A new request, and the previous call's again (replayed): every statement gets its plan now.
    await decideBookingBatch(db, EVENT, [
      request(`warm-${call}`, `warm-${call}`),
      ...(call > 0 ? [request(`warm-${call - 1}`, `warm-${call - 1}`)] : []),
    ]);
  }
  // Then the event fills, through other connections.
  for (let from = 0; from < BOOKED; from += 1_000) await book(EVENT, from, 1_000);
  const pidAfter = await pid(db);
  await sql`LOAD 'auto_explain'`.execute(db);
  await sql`SET auto_explain.log_min_duration = 0`.execute(db);
  await sql`SET auto_explain.log_analyze = on`.execute(db);
  await sql`SET auto_explain.log_nested_statements = on`.execute(db);
  await sql`SET auto_explain.log_level = notice`.execute(db);
  traced = { db, plans, pidBefore, pidAfter };
});

afterAll(async () => {
  await traced?.db.destroy();
  await test?.drop();
});

/** The plans of the statements run by `fn`. */
async function plansOf(fn: () => Promise<unknown>): Promise<string[]> {
  traced.plans.length = 0;
  await fn();
  return [...traced.plans];
}

/** Each scan of one of the tables in `plan`: its line and the detail lines under it (up to the next node). */
function tableScans(plan: string): Array<{ node: string; rows: number; detail: string }> {
  const lines = plan.split('\n');
  const scans: Array<{ node: string; rows: number; detail: string }> = [];
  const scan = new RegExp(
    `(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan)( using \\S+)? on (${TABLES}) .*actual time=\\S+ rows=(\\d+)`,
  );
  lines.forEach((line, i) => {
    const m = scan.exec(line);
    if (!m) return;
    const rest = lines.slice(i + 1);
    const end = rest.findIndex((l) => l.includes('->'));
    scans.push({ node: line.trim(), rows: Number(m[4]), detail: (end === -1 ? rest : rest.slice(0, end)).join('\n') });
  });
  return scans;
}

describe('the seats a batch’s users hold, with statistics that know few of the event’s bookings', () => {
  it('the premise holds: as `= ANY (array)` the planner probes by event alone and filters the rest', async () => {
    // decide_bookings' statement before, under the function's settings then. (PostgreSQL 15, which
    // this project runs: later versions plan `= ANY` over an index differently.)
    const [plan] = (
      await plansOf(() =>
        traced.db.transaction().execute(async (trx) => {
          await sql`SET LOCAL enable_seqscan = off`.execute(trx);
          await sql`SET LOCAL plan_cache_mode = force_custom_plan`.execute(trx);
          await sql`SELECT b.user_id, sum(b.quantity)::integer AS seats
                      FROM bookings b
                     WHERE b.event_id = ${EVENT} AND b.status IN ('held', 'confirmed')
                       AND b.user_id = ANY (${['user-1', 'user-2']}::text[])
                     GROUP BY b.user_id`.execute(trx);
        }),
      )
    ).filter((p) => p.includes('user_id = ANY'));
    expect(plan).toMatch(/Rows Removed by Filter: \d{4}/);
  });

  it('decide_bookings looks up the seats each user holds by event and user together', async () => {
    const plans = (
      await plansOf(() => decideBookingBatch(traced.db, EVENT, [request('req-new-1', 'user-1'), request('req-new-2', 'user-new')]))
    ).filter((p) => p.includes('FROM bookings b'));
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatch(/Index Cond: \(\(event_id = '?[\w$]+'?(::text)?\) AND \(user_id = /);
    const scans = tableScans(plans[0]!);
    expect(scans.map((s) => s.node)).toEqual([expect.stringContaining('on bookings b')]);
    expect(scans[0]!.detail).not.toMatch(/Rows Removed by Filter/);
  });

  it('no statement of decide_bookings reads more of a table than the batch needs, with plans cached while the event had no bookings', async () => {
    // The plans under test are the ones cached before the event filled: same session, generic plans.
    expect(traced.pidAfter).toBe(traced.pidBefore);
    const plans = await plansOf(async () => {
      const decisions = await decideBookingBatch(traced.db, EVENT, [
        request('req-7', 'user-7'), // decided before: its decision is read back (replayed)
        request('req-new-3', 'user-8'),
      ]);
      expect(decisions.get('req-7')).toMatchObject({ replayed: true, status: 'confirmed' });
      expect(decisions.get('req-new-3')).toMatchObject({ replayed: false, status: 'confirmed' });
    });
    const statements = plans.filter((p) => !p.includes('Query Text: SELECT * FROM decide_bookings'));
    expect(statements.length).toBeGreaterThan(5);
    // Generic plans: the event's id is a parameter, not the value.
    expect(statements.filter((p) => p.includes('FROM bookings b')).join('\n')).toMatch(/event_id = \$\d+/);
    // The waiting list's count ran too (the event has one), as did the read-back of the replay.
    expect(statements.some((p) => p.includes("status = 'waitlisted'"))).toBe(true);
    expect(statements.some((p) => p.includes('LEFT JOIN bookings b ON b.request_id = br.id'))).toBe(true);
    const scans = statements.flatMap(tableScans);
    expect(scans.length).toBeGreaterThan(5);
    for (const { node, rows, detail } of scans) {
      expect(node).not.toMatch(/^(->\s+)?Seq Scan/);
      expect(rows, node).toBeLessThan(100);
      expect(detail, node).not.toMatch(/Rows Removed by (Filter|Index Recheck): \d{3,}/);
    }
  });
});
