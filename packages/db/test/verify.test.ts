import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { auditInvariants, confirmBookings, decideBookingBatch, insertEvent } from '@booking/db';
import { createTestDatabase, type TestDatabase } from '@booking/test-support';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** `npm run verify` against the test database, as an operator runs it. */
function runVerify(url: string): { status: number | null; out: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'packages/db/src/verify.main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: url },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: run.status, out: run.stdout + run.stderr };
}

const request = (id: string, userId: string, quantity: number) => ({
  requestId: id,
  userId,
  quantity,
  acceptedAt: new Date().toISOString(),
  bookingId: `b-${id}`,
});

describe('npm run verify', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(2);
    const { db } = database;
    await insertEvent(db, { id: 'plain', name: 'Plain', capacity: 5 });
    await insertEvent(db, { id: 'held', name: 'Held', capacity: 5, holdSeconds: 600 });
    await decideBookingBatch(db, 'plain', [request('p1', 'u1', 2), request('p2', 'u2', 3), request('p3', 'u3', 1)]);
    await decideBookingBatch(db, 'held', [request('h1', 'u1', 2), request('h2', 'u2', 1)]);
    await confirmBookings(db, ['b-h1']);
  });
  afterAll(async () => {
    await database.drop();
  });

  it('finds nothing wrong in a database the service wrote, and exits 0', async () => {
    expect(await auditInvariants(database.db)).toEqual([]);
    const run = runVerify(database.url);
    expect(run.out).toContain('2 events checked, 0 violation(s)');
    expect(run.status).toBe(0);
  });

  it('names a seat count broken behind the service, and exits 1', async () => {
    // A row changed by hand, past every function: one seat more available than there is.
    await sql`UPDATE events SET available = available + 1 WHERE id = 'plain'`.execute(database.db);
    const violations = await auditInvariants(database.db);
    expect(violations).toEqual([{ eventId: 'plain', problem: 'available 1, but capacity 5 - held and confirmed seats 5 = 0' }]);
    const run = runVerify(database.url);
    expect(run.out).toContain('violation: event plain: available 1, but capacity 5 - held and confirmed seats 5 = 0');
    expect(run.out).toContain('1 violation(s)');
    expect(run.status).toBe(1);
    await sql`UPDATE events SET available = available - 1 WHERE id = 'plain'`.execute(database.db);
  });

  it('names a hold left overdue and a booking without its request', async () => {
    await sql`UPDATE bookings SET expires_at = clock_timestamp() - interval '5 minutes' WHERE id = 'b-h2'`.execute(database.db);
    await sql`UPDATE booking_requests SET status = 'rejected', reason = 'SOLD_OUT' WHERE id = 'p1'`.execute(database.db);
    const problems = (await auditInvariants(database.db)).map((v) => `${v.eventId}: ${v.problem}`);
    expect(problems).toEqual([
      expect.stringMatching(/^held: booking b-h2 is held 00:0[45]:\d\d past its expiry at /),
      'plain: booking b-p1 has no confirmed request (request p1 is rejected)',
    ]);
    const run = runVerify(database.url);
    expect(run.out).toContain('2 violation(s)');
    expect(run.status).toBe(1);
  });

  it('leaves a journal row written just after its decision to the housekeeping; names one left behind', async () => {
    // The API journals behind the queue: a row can land after the worker decided its request.
    const journal = (acceptedAt: string) => sql`
      INSERT INTO accepted_requests (id, event_id, user_id, quantity, accepted_at) VALUES ('p2', 'plain', 'u2', 3, ${acceptedAt}::timestamptz)`;
    await journal(new Date().toISOString()).execute(database.db);
    const fresh = (await auditInvariants(database.db)).map((v) => v.problem);
    expect(fresh.filter((p) => p.includes('journal'))).toEqual([]);
    await sql`DELETE FROM accepted_requests WHERE id = 'p2'`.execute(database.db);
    await journal(new Date(Date.now() - 5 * 60_000).toISOString()).execute(database.db);
    const old = (await auditInvariants(database.db)).map((v) => `${v.eventId}: ${v.problem}`);
    expect(old).toContainEqual(
      expect.stringMatching(/^plain: request p2 is decided but still in the journal, accepted 00:0[45]:\d\d ago$/),
    );
    await sql`DELETE FROM accepted_requests WHERE id = 'p2'`.execute(database.db);
  });

  it('names a waiting-list entry on an event without a waiting list', async () => {
    await sql`UPDATE booking_requests SET status = 'waitlisted', reason = NULL, waitlisted_at = decided_at WHERE id = 'p3'`.execute(
      database.db,
    );
    const problems = (await auditInvariants(database.db)).map((v) => `${v.eventId}: ${v.problem}`);
    expect(problems).toContain('plain: waiting list has 1 entries, its limit is none');
  });
});
