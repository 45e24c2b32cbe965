import { insertEvent } from '@booking/db';
import { newEventId, newRequestId } from '@booking/domain';
import { type BookingRequestData, type BookJobData, eventQueueName, gateKeys } from '@booking/queue';
import { expectDecisionsJustified, expectEventInvariants, TEST_REDIS_URL } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Total count of the transactions histogram (one observation per transaction that decided anything). */
async function transactions(stack: Stack): Promise<number> {
  const metric = await stack.registry.getSingleMetric('booking_decisions_per_transaction')?.get();
  return metric?.values.find((v) => (v as { metricName?: string }).metricName === 'booking_decisions_per_transaction_count')?.value ?? 0;
}

async function waitUntil(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function bookingRequest(eventId: string, userId: string, quantity: number): BookingRequestData {
  return { requestId: newRequestId(eventId), userId, quantity, acceptedAt: new Date().toISOString(), gated: true };
}

describe('a worker decides the jobs queued behind the one in hand in one transaction', () => {
  let stack: Stack;
  let redis: Redis;

  beforeAll(async () => {
    // No worker yet: the queue fills first, as it does behind a busy worker.
    stack = await startStack({ workers: 0 });
    redis = new Redis(TEST_REDIS_URL);
  });

  afterAll(async () => {
    redis.disconnect();
    await stack.close();
  });

  /** Adds booking jobs to the event's queue as the API does, one after another; returns their requests in order. */
  async function fill(eventId: string, jobs: BookingRequestData[][]): Promise<BookingRequestData[]> {
    const queue = new Queue(eventQueueName(eventId), { connection: redis, prefix: stack.prefix });
    for (const requests of jobs) {
      const data: BookJobData = { kind: 'book', eventId, requests };
      await queue.add('book', data, { removeOnComplete: true, removeOnFail: { count: 100 } });
    }
    await queue.close();
    return jobs.flat();
  }

  async function decidedCount(eventId: string): Promise<number> {
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM booking_requests WHERE event_id = ${eventId}`.execute(
      stack.db,
    );
    return rows[0]!.n;
  }

  it('decides 120 queued jobs in a handful of transactions, in queue order, each request once', async () => {
    const eventId = newEventId();
    await insertEvent(stack.db, { id: eventId, name: 'group commit', capacity: 150 });
    // 120 jobs of 1 to 3 seats: 240 seats asked for 150, so the order decides who gets one.
    const requests = await fill(
      eventId,
      Array.from({ length: 120 }, (_, i) => [bookingRequest(eventId, `u${i}`, 1 + (i % 3))]),
    );
    const before = await transactions(stack);
    const worker = await stack.startWorker();
    await worker.serve(eventId);
    await waitUntil('every request decided', async () => (await decidedCount(eventId)) === requests.length);

    const used = (await transactions(stack)) - before;
    expect(used, 'transactions for 120 jobs').toBeLessThanOrEqual(5);

    // Queue order is decision order: the first requests that fit get the seats, the rest are SOLD_OUT.
    const { rows } = await sql<{ id: string; status: string }>`
      SELECT id, status FROM booking_requests WHERE event_id = ${eventId} ORDER BY decided_at`.execute(stack.db);
    expect(rows.map((r) => r.id)).toEqual(requests.map((r) => r.requestId));
    let left = 150;
    const expected = requests.map((r) => (r.quantity <= left ? ((left -= r.quantity), 'confirmed') : 'rejected'));
    expect(rows.map((r) => r.status)).toEqual(expected);
    await expectEventInvariants(stack.db, eventId);
    await expectDecisionsJustified(stack.db, eventId);

    // Every job is completed and gone: nothing active, waiting or failed is left behind.
    const k = gateKeys(stack.prefix, eventId);
    await waitUntil('the queue empties', async () => (await redis.llen(k.active)) + (await redis.llen(k.wait)) === 0);
    expect(await redis.zcard(`${k.jobPrefix}failed`)).toBe(0);
  });

  it('decides a backlog larger than one transaction in batches of 1,000, in queue order, and leaves the gate true', async () => {
    const eventId = newEventId();
    await insertEvent(stack.db, { id: eventId, name: 'backlog', capacity: 2_000, maxPerUser: 3 });
    // 2,600 jobs from 900 users, 1 to 3 seats each: the order and the per-user limit decide.
    const jobs = Array.from({ length: 2_600 }, (_, i) => [bookingRequest(eventId, `u${i % 900}`, 1 + (i % 3))]);
    const queue = new Queue(eventQueueName(eventId), { connection: redis, prefix: stack.prefix });
    for (let i = 0; i < jobs.length; i += 500) {
      await queue.addBulk(
        jobs.slice(i, i + 500).map((requests) => ({
          name: 'book',
          data: { kind: 'book', eventId, requests } satisfies BookJobData,
          opts: { removeOnComplete: true, removeOnFail: { count: 100 } },
        })),
      );
    }
    await queue.close();
    const requests = jobs.flat();
    const before = await transactions(stack);
    await stack.workers[0]!.serve(eventId);
    await waitUntil('every request decided', async () => (await decidedCount(eventId)) === requests.length, 60_000);

    // 1,000 requests a transaction at most: three of them, give or take a batch cut short by timing.
    const used = (await transactions(stack)) - before;
    expect(used, 'transactions for 2,600 jobs').toBeGreaterThanOrEqual(3);
    expect(used, 'transactions for 2,600 jobs').toBeLessThanOrEqual(8);

    const { rows } = await sql<{ id: string; status: string; reason: string | null }>`
      SELECT id, status, reason FROM booking_requests WHERE event_id = ${eventId} ORDER BY decided_at`.execute(stack.db);
    expect(rows.map((r) => r.id)).toEqual(requests.map((r) => r.requestId));
    // The rule, request by request in queue order.
    let left = 2_000;
    const seats = new Map<string, number>();
    const expected = requests.map((r) => {
      const held = seats.get(r.userId) ?? 0;
      if (held + r.quantity > 3) return 'USER_LIMIT_EXCEEDED';
      if (r.quantity > left) return 'SOLD_OUT';
      left -= r.quantity;
      seats.set(r.userId, held + r.quantity);
      return 'confirmed';
    });
    expect(rows.map((r) => r.reason ?? r.status)).toEqual(expected);
    await expectEventInvariants(stack.db, eventId);
    await expectDecisionsJustified(stack.db, eventId);

    const k = gateKeys(stack.prefix, eventId);
    await waitUntil('the queue empties', async () => (await redis.llen(k.active)) + (await redis.llen(k.wait)) === 0);
    expect(await redis.zcard(`${k.jobPrefix}failed`)).toBe(0);
    // Settled between transactions only: the gate counts exactly the seats Postgres has left.
    const event = await stack.db.selectFrom('events').select('available').where('id', '=', eventId).executeTakeFirstOrThrow();
    expect(event.available).toBe(left);
    expect(Number(await redis.hget(k.gate, 'avail')), 'seats the gate promises').toBe(left);
  });

  it('rejects a request Postgres cannot store as INVALID_REQUEST and decides the rest of its batch', async () => {
    const eventId = newEventId();
    await insertEvent(stack.db, { id: eventId, name: 'poison', capacity: 100 });
    // Payloads as a buggy or hostile producer could queue them: a NUL and a lone surrogate in user ids.
    const poison = [bookingRequest(eventId, 'nul\u0000user', 1), bookingRequest(eventId, 'lone\ud800', 2)];
    const good = Array.from({ length: 30 }, (_, i) => bookingRequest(eventId, `g${i}`, 1));
    const requests = await fill(eventId, [good.slice(0, 10), [poison[0]!], good.slice(10, 20), [poison[1]!], good.slice(20)]);
    await stack.workers[0]!.serve(eventId);
    await waitUntil('every request decided', async () => (await decidedCount(eventId)) === requests.length);

    const { rows } = await sql<{ id: string; status: string; reason: string | null }>`
      SELECT id, status, reason FROM booking_requests WHERE event_id = ${eventId}`.execute(stack.db);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const p of poison) expect(byId.get(p.requestId)).toMatchObject({ status: 'rejected', reason: 'INVALID_REQUEST' });
    for (const g of good) expect(byId.get(g.requestId)?.status, g.userId).toBe('confirmed');
    const event = await stack.db.selectFrom('events').select('available').where('id', '=', eventId).executeTakeFirstOrThrow();
    expect(event.available).toBe(100 - good.length);
    await expectEventInvariants(stack.db, eventId);

    const k = gateKeys(stack.prefix, eventId);
    await waitUntil('the queue empties', async () => (await redis.llen(k.active)) + (await redis.llen(k.wait)) === 0);
    expect(await redis.zcard(`${k.jobPrefix}failed`), 'no job failed').toBe(0);
  });
});
