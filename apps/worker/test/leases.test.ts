import { setTimeout as sleep } from 'node:timers/promises';

import { decideBookingBatch, StaleLeaseError } from '@booking/db';
import { newBookingId } from '@booking/domain';
import { EventLeases, type Lease } from '@booking/queue';
import {
  awaitDecision,
  createEvent,
  deleteKeys,
  expectDecisionsJustified,
  expectEventInvariants,
  submit,
  TEST_REDIS_URL,
  uniquePrefix,
} from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

describe('event leases across worker processes', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  async function fill(s: Stack, eventId: string, count: number, tag: string) {
    const answers = await Promise.all(Array.from({ length: count }, (_, i) => submit(s.baseUrl, eventId, `${tag}-${i}`, 1)));
    expect(answers.filter((a) => a.status !== 202).map((a) => a.status)).toEqual([]);
    return answers.map((a) => a.body.requestId as string);
  }

  it('spreads events over the workers, none holding more than its share', async () => {
    stack = await startStack({ workers: 3, admissionGate: false });
    const s = stack;
    const events = await Promise.all(Array.from({ length: 9 }, (_, i) => createEvent(s.baseUrl, { name: `e${i}`, capacity: 1000 })));
    let most = 0;
    const holders = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const w of s.workers) {
          most = Math.max(most, w.eventIds.length);
          if (w.eventIds.length > 0) holders.add(w.workerId);
        }
        await sleep(20);
      }
    })();
    const ids = (await Promise.all(events.map((e, i) => fill(s, e.id, 150, `spread${i}`)))).flat();
    const decisions = await Promise.all(ids.map((id) => awaitDecision(s.baseUrl, id)));
    sampling = false;
    await sampler;
    expect(decisions.filter((d) => d.status !== 'confirmed')).toEqual([]);
    expect(holders.size, 'workers that served something').toBeGreaterThanOrEqual(2);
    // Fair share: ceil(9 ready events / 3 live workers); one more while a share is being handed on.
    expect(most).toBeLessThanOrEqual(4);
  });

  it('gives a worker that joins mid-sale its share of the busy events within seconds', async () => {
    stack = await startStack({ workers: 1, admissionGate: false });
    const s = stack;
    const events = await Promise.all(Array.from({ length: 6 }, (_, i) => createEvent(s.baseUrl, { name: `j${i}`, capacity: 100_000 })));
    let sending = true;
    let sent = 0;
    // Keep all six events busy: a trickle of requests to each.
    const traffic = (async () => {
      while (sending) {
        await Promise.all(events.map((e) => submit(s.baseUrl, e.id, `trickle-${sent++}`, 1)));
        await sleep(50);
      }
    })();
    await sleep(1_000);
    expect(s.workers[0]!.eventIds.length, 'the first worker serves them all').toBeGreaterThanOrEqual(4);
    const joined = await s.startWorker();
    const deadline = Date.now() + 8_000;
    while (joined.eventIds.length < 2 && Date.now() < deadline) await sleep(50);
    sending = false;
    await traffic;
    expect(joined.eventIds.length, 'events the new worker took').toBeGreaterThanOrEqual(2);
    expect(s.workers[0]!.eventIds.length).toBeLessThanOrEqual(4);
  });

  it('hands an event over when its worker shuts down mid-sale, losing and doubling nothing', async () => {
    stack = await startStack({ workers: 2, admissionGate: false });
    const s = stack;
    const event = await createEvent(s.baseUrl, { capacity: 300 });
    const first = await fill(s, event.id, 200, 'before');
    await Promise.all(s.workers.map((w) => w.serve()));
    const holder = s.workers.find((w) => w.eventIds.includes(event.id));
    expect(holder, 'one worker took the event').toBeDefined();
    await holder!.close();
    const second = await fill(s, event.id, 200, 'after');
    const decisions = await Promise.all([...first, ...second].map((id) => awaitDecision(s.baseUrl, id)));
    expect(decisions.filter((d) => d.status === 'pending')).toEqual([]);
    await expectEventInvariants(s.db, event.id);
    expect(await expectDecisionsJustified(s.db, event.id)).toBe(0);
  });

  it('refuses decisions made under an epoch older than the last one Postgres saw', async () => {
    stack = await startStack({ workers: 0 });
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const request = (id: string) => ({
      requestId: `${event.id}.${id}`,
      userId: id,
      quantity: 1,
      acceptedAt: new Date().toISOString(),
      bookingId: newBookingId(),
    });
    await decideBookingBatch(stack.db, event.id, [request('aaaaaaaaaaaaaaaaaaaaaa')], 7);
    const stale = await decideBookingBatch(stack.db, event.id, [request('bbbbbbbbbbbbbbbbbbbbbb')], 6).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(stale instanceof StaleLeaseError).toBe(true);
    const rows = await stack.db.selectFrom('booking_requests').select('id').where('event_id', '=', event.id).execute();
    expect(rows).toHaveLength(1);
    const newer = await decideBookingBatch(stack.db, event.id, [request('cccccccccccccccccccccc')], 8);
    expect([...newer.values()][0]?.status).toBe('confirmed');
  });
});

describe('an event lease that lapsed while its holder was busy', () => {
  let redis: Redis;
  const prefix = uniquePrefix();
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteKeys(prefix);
  });

  it('is taken up again by its holder when nobody took the event meanwhile', async () => {
    const mine = new EventLeases(redis, prefix, 'busy-worker', 100);
    const answer = await mine.acquire('lapsed-event');
    expect('lease' in answer).toBe(true);
    const { lease } = answer as { lease: Lease };
    await sleep(250);
    expect(await mine.renew(lease)).toBe(true);
    // Taken up with its epoch: another worker finds it held.
    const other = new EventLeases(redis, prefix, 'other-worker', 100);
    expect(await other.acquire('lapsed-event')).toMatchObject({ heldForMs: expect.any(Number) });
  });

  it('is lost once another worker has taken the event', async () => {
    const mine = new EventLeases(redis, prefix, 'slow-worker', 100);
    const { lease } = (await mine.acquire('taken-event')) as { lease: Lease };
    await sleep(250);
    const other = new EventLeases(redis, prefix, 'other-worker', 100);
    const taken = await other.acquire('taken-event');
    expect('lease' in taken && taken.lease.epoch).toBe(lease.epoch + 1);
    expect(await mine.renew(lease)).toBe(false);
  });
});
