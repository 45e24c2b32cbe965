import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { insertEvent } from '@booking/db';
import { newEventId, newRequestId } from '@booking/domain';
import {
  AdmissionGate,
  type BookingRequestData,
  type BookJobData,
  createRedis,
  eventQueueName,
  eventsChannel,
  gateKeys,
  idempotencyKeyName,
  KEEP_FAILED_JOBS,
  markEventReady,
  MAX_REQUESTS_PER_JOB,
  type RedisClient,
} from '@booking/queue';
import { awaitDecision, createEvent, expectEventInvariants, request, submit, TEST_REDIS_URL } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/** Every key under `pattern`, found with SCAN. */
async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

describe('what Redis keeps of a sale', () => {
  let redis: RedisClient;
  beforeAll(() => {
    redis = createRedis({ url: TEST_REDIS_URL, cluster: false }, 'worker');
  });
  afterAll(async () => {
    await redis.quit();
  });

  describe('after the sale has ended', () => {
    let stack: Stack;
    beforeAll(async () => {
      // One worker; its housekeeping runs every second, and keys go 5 s after the end of a sale.
      stack = await startStack({ workers: 1 });
    });
    afterAll(async () => {
      await stack.close();
    });

    const eventKeys = (eventId: string) => scanKeys(redis, `${stack.prefix}:${eventQueueName(eventId)}:*`);

    async function decidedCount(eventId: string): Promise<number> {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM booking_requests WHERE event_id = ${eventId}`.execute(
        stack.db,
      );
      return rows[0]!.n;
    }

    /**
     * A sale of `requests` requests of one seat each, driven as the API drives it, without HTTP: each
     * request through the gate's admission script, the admitted ones in jobs of up to 500 on the
     * event's queue (then the event marked as having work), decided by the real worker. Two jobs that
     * fail and one cancellation leave their traces too. Returns the event, its sale not ended yet.
     */
    async function sale(requests: number, capacity: number): Promise<string> {
      const eventId = newEventId();
      await insertEvent(stack.db, {
        id: eventId,
        name: `sale of ${requests}`,
        capacity,
        salesEndAt: new Date(Date.now() + 86_400_000).toISOString(),
      });
      const gate = new AdmissionGate(redis, stack.prefix);
      await gate.open(eventId, capacity);
      const queue = new Queue(eventQueueName(eventId), { connection: redis, prefix: stack.prefix });
      const add = async (data: BookJobData) => {
        await queue.add('book', data, { removeOnComplete: true, removeOnFail: KEEP_FAILED_JOBS });
        if (await markEventReady(redis, stack.prefix, eventId)) await redis.publish(eventsChannel(stack.prefix), eventId);
      };
      let queued = 0;
      for (let from = 0; from < requests; from += MAX_REQUESTS_PER_JOB) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(MAX_REQUESTS_PER_JOB, requests - from) }, async (_, i) => {
            const r: BookingRequestData = {
              requestId: newRequestId(eventId),
              userId: `user-${from + i}`,
              quantity: 1,
              acceptedAt: new Date().toISOString(),
              gated: true,
            };
            const admitted = await gate.admit({
              eventId,
              requestId: r.requestId,
              userId: r.userId,
              quantity: r.quantity,
              acceptedAt: r.acceptedAt,
              maxPerUser: null,
            });
            return admitted.kind === 'admitted' ? r : undefined;
          }),
        );
        const admitted = batch.filter((r) => r !== undefined);
        if (admitted.length > 0) await add({ kind: 'book', eventId, requests: admitted });
        queued += admitted.length;
        // Two jobs the worker cannot read: they end in the failed set.
        if (from === 0) {
          await add({ kind: 'book', eventId, requests: [] } as unknown as BookJobData);
          await add({ kind: 'book', eventId: 'another-event', requests: [] } as unknown as BookJobData);
        }
      }
      await queue.close();
      expect(queued).toBe(Math.min(requests, capacity));
      const deadline = Date.now() + 60_000;
      while ((await decidedCount(eventId)) < queued && Date.now() < deadline) await sleep(100);
      expect(await decidedCount(eventId)).toBe(queued);
      const booking = await stack.db.selectFrom('bookings').select('id').where('event_id', '=', eventId).limit(1).executeTakeFirstOrThrow();
      expect((await request(stack.baseUrl, 'POST', `/v1/bookings/${booking.id}/cancel`)).status).toBe(200);
      return eventId;
    }

    it('keeps nothing of an event once its sale ended, whether it had 1,000 requests or 100,000', async () => {
      const small = await sale(1_000, 200);
      const large = await sale(100_000, 30_000);
      const during = { small: (await eventKeys(small)).length, large: (await eventKeys(large)).length };
      expect(during.small, 'keys of the small sale while it is on').toBeGreaterThan(0);
      expect(during.large, 'keys of the large sale while it is on').toBeLessThanOrEqual(during.small + 5);

      // The sales end now.
      await stack.db.updateTable('events').set({ sales_end_at: new Date() }).where('id', 'in', [small, large]).execute();
      const deadline = Date.now() + 30_000;
      let left = { small: during.small, large: during.large };
      while ((left.small > 0 || left.large > 0) && Date.now() < deadline) {
        await sleep(250);
        left = { small: (await eventKeys(small)).length, large: (await eventKeys(large)).length };
      }
      expect(left, 'keys of each event after its sale').toEqual({ small: 0, large: 0 });
      // What is left under the prefix does not depend on events or requests: the workers' beats,
      // the housekeeping's lock and where its sweep of ended sales stands.
      const all = (await scanKeys(redis, `${stack.prefix}:*`)).map((k) => k.slice(stack.prefix.length + 1)).sort();
      expect(all.length, all.join(', ')).toBeLessThanOrEqual(4);
      await expectEventInvariants(stack.db, large);
      await expectEventInvariants(stack.db, small);
    });

    it('removes the keys a cancellation after the end brings back, once its worker lets the event go', async () => {
      const event = await createEvent(stack.baseUrl, { capacity: 5, salesEndAt: new Date(Date.now() + 60_000).toISOString() });
      const answer = await submit(stack.baseUrl, event.id, 'late-canceller', 1);
      const decided = await awaitDecision(stack.baseUrl, answer.body.requestId as string);
      expect(decided.status).toBe('confirmed');
      await stack.db.updateTable('events').set({ sales_end_at: new Date() }).where('id', '=', event.id).execute();
      const deadline = Date.now() + 30_000;
      while ((await eventKeys(event.id)).length > 0 && Date.now() < deadline) await sleep(250);
      expect(await eventKeys(event.id)).toEqual([]);

      const cancelled = await request(stack.baseUrl, 'POST', `/v1/bookings/${decided.bookingId}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      while ((await eventKeys(event.id)).length > 0 && Date.now() < deadline + 30_000) await sleep(250);
      expect(await eventKeys(event.id)).toEqual([]);
      await expectEventInvariants(stack.db, event.id);
    });
  });

  describe('while the sale is on', () => {
    let stack: Stack | undefined;
    afterEach(async () => {
      await stack?.close();
      stack = undefined;
    });

    it('keeps the Idempotency-Key of a 409 answer shorter than that of a 202', async () => {
      stack = await startStack({ workers: 1 });
      const event = await createEvent(stack.baseUrl, { capacity: 1 });
      const first = await submit(stack.baseUrl, event.id, 'first', 1, { 'idempotency-key': 'key-of-a-202' });
      expect(first.status).toBe(202);
      expect((await awaitDecision(stack.baseUrl, first.body.requestId as string)).status).toBe('confirmed');
      const second = await submit(stack.baseUrl, event.id, 'second', 1, { 'idempotency-key': 'key-of-a-409' });
      expect(second.status).toBe(409);
      const ttl = (key: string) => redis.ttl(idempotencyKeyName(stack!.prefix, event.id, createHash('sha256').update(key).digest('hex')));
      // The defaults: a day for a 202, ten minutes for a 409.
      expect(await ttl('key-of-a-202')).toBeGreaterThan(86_000);
      const conflict = await ttl('key-of-a-409');
      expect(conflict).toBeGreaterThan(500);
      expect(conflict).toBeLessThanOrEqual(600);
      // And the 409 is still the answer to its key.
      expect((await submit(stack.baseUrl, event.id, 'second', 1, { 'idempotency-key': 'key-of-a-409' })).status).toBe(409);
    });

    it('queues bookings and cancellations with a bound on the failed jobs kept', async () => {
      stack = await startStack({ workers: 1, cancelWaitMs: 300 });
      const s = stack;
      const event = await createEvent(s.baseUrl, { capacity: 5 });
      const booked = await awaitDecision(s.baseUrl, (await submit(s.baseUrl, event.id, 'keeper', 1)).body.requestId as string);
      await s.workers.shift()!.close();
      // Nobody decides now: the jobs stay in the queue as the API added them.
      expect((await submit(s.baseUrl, event.id, 'waiting', 1)).status).toBe(202);
      expect((await request(s.baseUrl, 'POST', `/v1/bookings/${booked.bookingId}/cancel`)).status).toBe(503);
      const k = gateKeys(s.prefix, event.id);
      const ids = await redis.lrange(k.wait, 0, -1);
      expect(ids).toHaveLength(2);
      for (const id of ids) {
        const opts = JSON.parse((await redis.hget(`${k.jobPrefix}${id}`, 'opts')) ?? '{}') as { removeOnFail?: unknown };
        expect(opts.removeOnFail, `job ${id}`).toEqual(KEEP_FAILED_JOBS);
      }
    });
  });
});
