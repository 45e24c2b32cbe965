import { claimLeaseEpoch, decideBookingBatch, StaleLeaseError } from '@booking/db';
import { newBookingId } from '@booking/domain';
import { createRedis, EventLeases, leaseKeys, type RedisClient } from '@booking/queue';
import { awaitDecision, createEvent, deleteKeys, expectEventInvariants, submit, TEST_REDIS_URL } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterEach, describe, expect, it } from 'vitest';

// Deleting every key of the stack's prefix is what a FLUSHDB (or a restart without persistence) does
// to this deployment, without disturbing the other test files that share the Redis server.
async function withRedis<T>(fn: (redis: RedisClient) => Promise<T>): Promise<T> {
  const redis = createRedis({ url: TEST_REDIS_URL, cluster: false }, 'worker');
  try {
    return await fn(redis);
  } finally {
    await redis.quit();
  }
}

describe('lease epochs when Redis forgets them', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  async function leaseEpochOf(s: Stack, eventId: string): Promise<number> {
    const row = await s.db.selectFrom('events').select('lease_epoch').where('id', '=', eventId).executeTakeFirstOrThrow();
    return Number(row.lease_epoch);
  }

  async function bookOne(s: Stack, eventId: string, userId: string) {
    const answer = await submit(s.baseUrl, eventId, userId, 1);
    expect(answer.status).toBe(202);
    return awaitDecision(s.baseUrl, answer.body.requestId as string, 20);
  }

  it('decides promptly after a flush although Postgres holds a later epoch than Redis starts from', async () => {
    // The default lock (WORKER_LOCK_MS): a job taken under a lease that is lost is taken over after it.
    stack = await startStack({ workers: 1, lockMs: 2_000 });
    const s = stack;
    const event = await createEvent(s.baseUrl, { capacity: 100 });
    // A few handovers: each worker that takes the event over gets a later epoch.
    for (let turn = 0; turn < 3; turn++) {
      expect((await bookOne(s, event.id, `before-${turn}`)).status).toBe('confirmed');
      await s.workers.shift()!.close();
      await s.startWorker();
    }
    expect((await bookOne(s, event.id, 'before-last')).status).toBe('confirmed');
    expect(await leaseEpochOf(s, event.id)).toBeGreaterThanOrEqual(3);
    // And as many more as a long sale sees, in both places, as they would have been.
    const epoch = (await leaseEpochOf(s, event.id)) + 30;
    await s.db.updateTable('events').set({ lease_epoch: epoch }).where('id', '=', event.id).execute();
    await withRedis((redis) => redis.set(leaseKeys(s.prefix, event.id).epoch, epoch));

    await deleteKeys(s.prefix);
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => submit(s.baseUrl, event.id, `after-${i}`, 1)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    const decisions = await Promise.all(answers.map((a) => awaitDecision(s.baseUrl, a.body.requestId as string, 30)));
    const tookMs = Date.now() - started;
    expect(decisions.map((d) => d.status)).toEqual(decisions.map(() => 'confirmed'));
    // About one lock time at most: waiting out 30 stale epochs would take a lock time each.
    expect(tookMs, 'time from the flush to the last decision').toBeLessThan(8_000);
    await expectEventInvariants(s.db, event.id);
  });

  it('decides promptly when the Redis counter came back behind Postgres (a failover that lost writes)', async () => {
    stack = await startStack({ workers: 1 });
    const s = stack;
    const event = await createEvent(s.baseUrl, { capacity: 100 });
    expect((await bookOne(s, event.id, 'first')).status).toBe('confirmed');
    // Postgres saw epoch 50 (many handovers ago); the Redis that took over remembers 2.
    await s.workers.shift()!.close();
    await s.db.updateTable('events').set({ lease_epoch: 50 }).where('id', '=', event.id).execute();
    await withRedis((redis) => redis.set(leaseKeys(s.prefix, event.id).epoch, 2));
    await s.startWorker();
    const started = Date.now();
    expect((await bookOne(s, event.id, 'second')).status).toBe('confirmed');
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await leaseEpochOf(s, event.id)).toBeGreaterThan(50);
  });

  it('gives the next holder an epoch that fences the previous one off, although Redis forgot both', async () => {
    stack = await startStack({ workers: 0 });
    const s = stack;
    const event = await createEvent(s.baseUrl, { capacity: 10 });
    const redis = createRedis({ url: TEST_REDIS_URL, cluster: false }, 'worker');
    try {
      const epochs = { claim: (eventId: string, epoch: number) => claimLeaseEpoch(s.db, eventId, epoch) };
      const first = new EventLeases(redis, s.prefix, 'worker-a', 5_000, epochs);
      const second = new EventLeases(redis, s.prefix, 'worker-b', 5_000, epochs);
      const a = await first.acquire(event.id);
      if (!('lease' in a)) throw new Error('the first worker should get the lease');

      await deleteKeys(s.prefix);
      const b = await second.acquire(event.id);
      if (!('lease' in b)) throw new Error('the second worker should get the lease once Redis forgot the first');
      expect(b.lease.epoch).toBeGreaterThan(a.lease.epoch);

      const request = (id: string) => ({
        requestId: `${event.id}.${id}`,
        userId: id,
        quantity: 1,
        acceptedAt: new Date().toISOString(),
        bookingId: newBookingId(),
      });
      const stale = await decideBookingBatch(s.db, event.id, [request('aaaaaaaaaaaaaaaaaaaaaa')], a.lease.epoch).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(stale instanceof StaleLeaseError, 'the first holder is fenced off').toBe(true);
      const fresh = await decideBookingBatch(s.db, event.id, [request('bbbbbbbbbbbbbbbbbbbbbb')], b.lease.epoch);
      expect([...fresh.values()][0]?.status).toBe('confirmed');
    } finally {
      await redis.quit();
    }
  });
});
