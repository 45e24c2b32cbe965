import { setTimeout as sleep } from 'node:timers/promises';

import { cancelBooking } from '@booking/db';
import {
  type CancelJobData,
  cancelJobId,
  createRedis,
  type DecisionMessage,
  decisionsChannel,
  eventQueueName,
  KEEP_FAILED_JOBS,
  messageEntries,
} from '@booking/queue';
import { awaitDecision, createEvent, expectEventInvariants, request, submit, TEST_REDIS_URL } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

async function available(stack: Stack, eventId: string): Promise<number> {
  const res = await request(stack.baseUrl, 'GET', `/v1/events/${eventId}`);
  expect(res.status).toBe(200);
  return res.body.available as number;
}

/** Submits and waits for the decision. */
async function book(stack: Stack, eventId: string, userId: string, quantity: number): Promise<any> {
  const res = await submit(stack.baseUrl, eventId, userId, quantity);
  if (res.status === 409) return { status: 'rejected', reason: res.body.code };
  expect(res.status).toBe(202);
  return awaitDecision(stack.baseUrl, res.body.requestId as string);
}

function cancel(stack: Stack, bookingId: string) {
  return request(stack.baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`);
}

describe('cancellation', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('returns the seats once when the same booking is cancelled twice at the same time', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const other = await book(stack, event.id, 'bystander', 1);
    expect(other.status).toBe('confirmed');
    const decided = await book(stack, event.id, 'canceller', 3);
    expect(decided.status).toBe('confirmed');
    expect(await available(stack, event.id)).toBe(1);

    const [a, b] = await Promise.all([cancel(stack, decided.bookingId), cancel(stack, decided.bookingId)]);
    for (const res of [a, b]) {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: decided.bookingId, status: 'cancelled', quantity: 3 });
      expect(res.body.cancelledAt).toEqual(expect.any(String));
    }
    expect(a.body.cancelledAt).toBe(b.body.cancelledAt);
    expect(await available(stack, event.id)).toBe(4);

    // A third, later cancel is not an error and changes nothing either.
    const again = await cancel(stack, decided.bookingId);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'cancelled', cancelledAt: a.body.cancelledAt });
    expect(await available(stack, event.id)).toBe(4);

    const read = await request(stack.baseUrl, 'GET', `/v1/bookings/${decided.bookingId}`);
    expect(read.body).toMatchObject({ status: 'cancelled', cancelledAt: a.body.cancelledAt });
    const untouched = await request(stack.baseUrl, 'GET', `/v1/bookings/${other.bookingId}`);
    expect(untouched.body.status).toBe('confirmed');
    await expectEventInvariants(stack.db, event.id);
  });

  it('frees seats that a later request can book', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2 });
    const holder = await book(stack, event.id, 'holder', 2);
    expect(holder.status).toBe('confirmed');
    const tooEarly = await book(stack, event.id, 'too-early', 1);
    expect(tooEarly).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });

    const cancelled = await cancel(stack, holder.bookingId);
    expect(cancelled.status).toBe(200);
    expect(await available(stack, event.id)).toBe(2);

    const later = await book(stack, event.id, 'later', 2);
    expect(later.status).toBe('confirmed');
    expect(later.bookingId).not.toBe(holder.bookingId);
    expect(await available(stack, event.id)).toBe(0);

    // Cancelling the old booking again must not hand out the seats a second time.
    expect((await cancel(stack, holder.bookingId)).status).toBe(200);
    expect(await available(stack, event.id)).toBe(0);
    const afterThat = await book(stack, event.id, 'after-that', 1);
    expect(afterThat).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });
    await expectEventInvariants(stack.db, event.id);
  });
  it('returns the seats once when its cancellation job is delivered again', async () => {
    // Room above the seats held, so a second return would not trip the CHECK and go unnoticed.
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    expect((await book(stack, event.id, 'bystander', 5)).status).toBe('confirmed');
    const decided = await book(stack, event.id, 'canceller', 3);
    expect(decided.status).toBe('confirmed');
    expect((await cancel(stack, decided.bookingId)).status).toBe(200);
    expect(await available(stack, event.id)).toBe(5);

    const redis = { url: TEST_REDIS_URL, cluster: false };
    const connection = createRedis(redis, 'worker');
    const subscriber = createRedis(redis, 'subscriber');
    const queue = new Queue(eventQueueName(event.id), { connection, prefix: stack.prefix });
    try {
      const jobId = cancelJobId(decided.bookingId);
      const deadline = Date.now() + 5_000;
      while ((await queue.getJob(jobId)) !== undefined) {
        if (Date.now() > deadline) throw new Error('the applied cancellation job was never removed');
        await sleep(20);
      }
      const channel = decisionsChannel(stack.prefix);
      await subscriber.subscribe(channel);
      const applied = new Promise<DecisionMessage>((resolve) => {
        subscriber.on('message', (ch: string, payload: string) => {
          const message = JSON.parse(payload) as DecisionMessage;
          if (ch === channel && messageEntries(message).some(([key]) => key === jobId)) resolve(message);
        });
      });
      const data: CancelJobData = { kind: 'cancel', bookingId: decided.bookingId, eventId: event.id };
      await queue.add('cancel', data, { jobId, removeOnComplete: true, removeOnFail: KEEP_FAILED_JOBS });
      const message = await Promise.race([
        applied,
        sleep(10_000).then(() => {
          throw new Error('the redelivered cancellation was not processed within 10 s');
        }),
      ]);
      expect(message).toMatchObject({ type: 'cancellation', booking: { id: decided.bookingId, status: 'cancelled' } });
    } finally {
      await queue.close();
      await Promise.allSettled([connection.quit(), subscriber.quit()]);
    }
    expect(await available(stack, event.id)).toBe(5);
    await expectEventInvariants(stack.db, event.id);
  });

  it('returns the seats once when cancelBooking runs several times at the same time', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    expect((await book(stack, event.id, 'bystander', 5)).status).toBe('confirmed');
    const decided = await book(stack, event.id, 'canceller', 3);
    expect(decided.status).toBe('confirmed');

    const rows = await Promise.all(Array.from({ length: 5 }, () => cancelBooking(stack.db, decided.bookingId)));
    expect(rows.map((r) => r?.status)).toEqual(Array(5).fill('cancelled'));
    expect(new Set(rows.map((r) => r?.cancelled_at?.getTime())).size).toBe(1);
    expect(await available(stack, event.id)).toBe(5);
    await expectEventInvariants(stack.db, event.id);
  });
});
