import { setTimeout as sleep } from 'node:timers/promises';

import { insertEvent } from '@booking/db';
import { newEventId, newRequestId } from '@booking/domain';
import { AdmissionGate, type BookJobData, createRedis, eventQueueName, gateKeys, GateOrphans, type RedisClient } from '@booking/queue';
import { awaitDecision, createEvent, expectEventInvariants, request, submit, TEST_REDIS_URL } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// What an API process that died between admitting requests and queueing their jobs leaves behind: the
// gate's pending records and promised seats, written by the real admission script, and no job.
async function admitWithoutQueueing(gate: AdmissionGate, eventId: string, count: number, acceptedAt = new Date()) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const requestId = newRequestId(eventId);
    const admitted = await gate.admit({
      eventId,
      requestId,
      userId: `gone-${i}`,
      quantity: 1,
      maxPerUser: null,
      acceptedAt: acceptedAt.toISOString(),
    });
    expect(admitted.kind).toBe('admitted');
    ids.push(requestId);
  }
  return ids;
}

describe('the gate records of requests nothing will settle', () => {
  let redis: RedisClient;
  beforeAll(() => {
    redis = createRedis({ url: TEST_REDIS_URL, cluster: false }, 'worker');
  });
  afterAll(async () => {
    await redis.quit();
  });

  describe('found by the scripts', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ workers: 0 });
    });
    afterAll(async () => {
      await stack.close();
    });

    it('are the old pending records no queued job carries, oldest first; queued and young ones are kept', async () => {
      const eventId = newEventId();
      await insertEvent(stack.db, { id: eventId, name: 'orphans', capacity: 10 });
      const gate = new AdmissionGate(redis, stack.prefix);
      const orphans = new GateOrphans(redis, stack.prefix);
      await gate.open(eventId, 10);
      const old = new Date(Date.now() - 60_000);
      const lost = await admitWithoutQueueing(gate, eventId, 3, old);
      const queuedIds = await admitWithoutQueueing(gate, eventId, 2, old);
      const young = await admitWithoutQueueing(gate, eventId, 1);
      const queue = new Queue(eventQueueName(eventId), { connection: redis, prefix: stack.prefix });
      const data: BookJobData = {
        kind: 'book',
        eventId,
        requests: queuedIds.map((requestId, i) => ({
          requestId,
          userId: `gone-${3 + i}`,
          quantity: 1,
          acceptedAt: old.toISOString(),
          gated: true,
        })),
      };
      await queue.add('book', data, { removeOnComplete: true });
      await queue.close();

      const cutoff = new Date(Date.now() - 5_000);
      expect(new Set(await orphans.staleUnqueued(eventId, cutoff, { limit: 100 }))).toEqual(new Set(lost));
      expect(await orphans.staleUnqueued(eventId, cutoff, { limit: 1 })).toEqual([lost[0]]);

      // Forgetting gives the promised seats back, and only for the records named and old enough.
      expect(await redis.hget(gateKeys(stack.prefix, eventId).gate, 'avail')).toBe('4');
      expect(await orphans.forget(eventId, cutoff, [...lost, ...young])).toBe(3);
      expect(await redis.hget(gateKeys(stack.prefix, eventId).gate, 'avail')).toBe('7');
      expect(await gate.pendingCount(eventId)).toBe(3);
      expect(await orphans.staleUnqueued(eventId, cutoff, { limit: 100 })).toEqual([]);
    });
  });

  describe('given back by the housekeeping', () => {
    let stack: Stack | undefined;
    afterEach(async () => {
      await stack?.close();
      stack = undefined;
    });

    it('an event whose seats were all promised to requests never queued admits again within seconds', async () => {
      // The stack's housekeeping runs every second: records count as orphans after 5 s.
      stack = await startStack({ workers: 1 });
      const s = stack;
      const event = await createEvent(s.baseUrl, { capacity: 5 });
      const gate = new AdmissionGate(redis, s.prefix);
      const started = Date.now();
      await admitWithoutQueueing(gate, event.id, 5);

      const first = await submit(s.baseUrl, event.id, 'early', 1);
      expect(first.status, 'every seat is promised at the door').toBe(409);
      let admitted: Awaited<ReturnType<typeof submit>> | undefined;
      while (Date.now() - started < 30_000) {
        const answer = await submit(s.baseUrl, event.id, `retry-${Date.now()}`, 1);
        if (answer.status === 202) {
          admitted = answer;
          break;
        }
        expect(answer.status).toBe(409);
        await sleep(250);
      }
      expect(admitted, 'admitted again once the orphans were found').toBeDefined();
      expect(Date.now() - started, 'time until seats were given back').toBeLessThan(20_000);
      expect((await awaitDecision(s.baseUrl, admitted!.body.requestId as string)).status).toBe('confirmed');

      // Every seat can be sold, and no more.
      const rest = await Promise.all([0, 1, 2, 3].map((i) => submit(s.baseUrl, event.id, `rest-${i}`, 1)));
      const decided = await Promise.all(rest.map((a) => awaitDecision(s.baseUrl, a.body.requestId as string)));
      expect(decided.map((d) => d.status)).toEqual(['confirmed', 'confirmed', 'confirmed', 'confirmed']);
      expect((await submit(s.baseUrl, event.id, 'one-too-many', 1)).status).toBe(409);
      await expectEventInvariants(s.db, event.id);
    });

    it('a decided request whose settlement never happened is settled: no seats held, no pending answer', async () => {
      stack = await startStack({ workers: 1 });
      const s = stack;
      const event = await createEvent(s.baseUrl, { capacity: 2 });
      const answer = await submit(s.baseUrl, event.id, 'settled-late', 1);
      const decided = await awaitDecision(s.baseUrl, answer.body.requestId as string);
      expect(decided.status).toBe('confirmed');
      // The gate as it stands when the decision is committed and the settlement fails: the request's
      // admission, by the real script, never taken back.
      const gate = new AdmissionGate(redis, s.prefix);
      await gate.admit({
        eventId: event.id,
        requestId: decided.requestId,
        userId: 'settled-late',
        quantity: 1,
        maxPerUser: null,
        acceptedAt: decided.acceptedAt,
      });
      const stale = await request(s.baseUrl, 'GET', `/v1/booking-requests/${decided.requestId}`);
      expect(stale.body.status, 'the gate says the decided request is still pending').toBe('pending');
      expect((await submit(s.baseUrl, event.id, 'turned-away', 1)).status, 'its seat counted twice').toBe(409);

      const deadline = Date.now() + 20_000;
      let status = 'pending';
      while (status === 'pending' && Date.now() < deadline) {
        await sleep(250);
        status = (await request(s.baseUrl, 'GET', `/v1/booking-requests/${decided.requestId}`)).body.status;
      }
      expect(status).toBe('confirmed');
      const last = await submit(s.baseUrl, event.id, 'last-seat', 1);
      expect(last.status, 'the last seat is sold, not held for the settled request').toBe(202);
      expect((await awaitDecision(s.baseUrl, last.body.requestId as string)).status).toBe('confirmed');
      expect((await submit(s.baseUrl, event.id, 'none-left', 1)).status).toBe(409);
      await expectEventInvariants(s.db, event.id);
    });
  });
});
