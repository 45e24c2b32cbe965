import { setTimeout as sleep } from 'node:timers/promises';

import {
  awaitDecision,
  createTestDatabase,
  deleteKeys,
  type Deployment,
  DEPLOYMENT_ADMIN_KEY,
  expectEventInvariants,
  request,
  startDeployment,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
} from '@booking/test-support';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// One API and one worker as real processes; the worker is killed before the holds fall due.
describe('hold expiry when no worker runs at the due time', () => {
  let database: TestDatabase;
  let prefix: string;
  let deployment: Deployment;

  beforeEach(async () => {
    database = await createTestDatabase();
    prefix = uniquePrefix();
    deployment = await startDeployment({ databaseUrl: database.url, redisUrl: TEST_REDIS_URL, prefix, workers: 1 });
  });

  afterEach(async () => {
    await deployment.kill();
    await database.drop();
    await deleteKeys(prefix);
  });

  it('kill -9 of the worker before holds are due: after restart they expire once, oldest first', async () => {
    const { baseUrl } = deployment;
    const created = await request(baseUrl, 'POST', '/v1/events', {
      headers: { authorization: `Bearer ${DEPLOYMENT_ADMIN_KEY}` },
      json: { name: 'Held sale', capacity: 30, holdSeconds: 600 },
    });
    expect(created.status).toBe(201);
    const eventId = created.body.id as string;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request(baseUrl, 'POST', `/v1/events/${eventId}/bookings`, { json: { userId: `u${i}`, quantity: 3 } }),
      ),
    );
    const decided = await Promise.all(answers.map((a) => awaitDecision(baseUrl, a.body.requestId as string)));
    expect(decided.every((d) => d.status === 'confirmed')).toBe(true);
    // Due from 1 s to 1.9 s from now, one after the other; the worker dies before the first.
    await sql`
      UPDATE bookings b SET expires_at = clock_timestamp() + interval '1 second' + s.n * interval '100 milliseconds'
        FROM (SELECT id, row_number() OVER (ORDER BY created_at) AS n FROM bookings WHERE event_id = ${eventId}) s
       WHERE b.id = s.id`.execute(database.db);
    const worker = deployment.workers[0]!;
    worker.child.kill('SIGKILL');
    await worker.exited;

    await sleep(3_000);
    const { rows: before } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM bookings WHERE event_id = ${eventId} AND status = 'held' AND expires_at < clock_timestamp()`.execute(
      database.db,
    );
    expect(before[0]!.n, 'nothing expires while no worker runs').toBe(10);

    const restartedAt = Date.now();
    await deployment.startWorker();
    const deadline = Date.now() + 15_000;
    let rows: Array<{ id: string; status: string; expires_at: Date; expired_at: Date | null }> = [];
    while (Date.now() < deadline) {
      ({ rows } = await sql<{ id: string; status: string; expires_at: Date; expired_at: Date | null }>`
        SELECT id, status, expires_at, expired_at FROM bookings WHERE event_id = ${eventId} ORDER BY expires_at`.execute(database.db));
      if (rows.every((r) => r.status === 'expired')) break;
      await sleep(100);
    }
    expect(rows.map((r) => r.status)).toEqual(Array(10).fill('expired'));
    for (const r of rows) expect(r.expired_at!.getTime()).toBeGreaterThanOrEqual(restartedAt - 1_000);
    // Expired in order of their due time (one transaction takes them oldest first).
    const times = rows.map((r) => r.expired_at!.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // Seats back exactly once, in PostgreSQL and at the door.
    const event = await request(baseUrl, 'GET', `/v1/events/${eventId}`);
    expect(event.body.available).toBe(30);
    await expectEventInvariants(database.db, eventId);
    const again = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        request(baseUrl, 'POST', `/v1/events/${eventId}/bookings`, { json: { userId: `v${i}`, quantity: 10 } }),
      ),
    );
    expect(again.map((a) => a.status)).toEqual([202, 202, 202]);
    const later = await Promise.all(again.map((a) => awaitDecision(baseUrl, a.body.requestId as string)));
    expect(later.map((d) => d.status)).toEqual(['confirmed', 'confirmed', 'confirmed']);
    await expectEventInvariants(database.db, eventId);
  });
});
