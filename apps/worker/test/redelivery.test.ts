import { setTimeout as sleep } from 'node:timers/promises';

import { cancelBooking, insertEvent } from '@booking/db';
import { type BookingRequestView, newBookingId, newEventId, newRequestId } from '@booking/domain';
import { createRedis, type DecisionMessage, decisionsChannel, eventQueueName, KEEP_FAILED_JOBS, type RedisClient } from '@booking/queue';
import { awaitDecision, createEvent, decideOne, expectEventInvariants, request, submit, TEST_REDIS_URL } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const redis = { url: TEST_REDIS_URL, cluster: false };

describe('a booking job delivered twice', () => {
  let stack: Stack;
  let connection: RedisClient;
  let subscriber: RedisClient;
  let queue: Queue | undefined;
  beforeAll(async () => {
    stack = await startStack({ workers: 0 });
    connection = createRedis(redis, 'worker');
    subscriber = createRedis(redis, 'subscriber');
  });
  afterAll(async () => {
    await queue?.close();
    await Promise.allSettled([connection.quit(), subscriber.quit()]);
    await stack.close();
  });

  it('books once and the second delivery replays the first decision', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const accepted = await submit(stack.baseUrl, event.id, 'redelivered-user', 2);
    expect(accepted.status).toBe(202);
    const requestId = accepted.body.requestId as string;

    // No worker yet: the job waits in the queue and its exact payload can be kept for the redelivery.
    queue = new Queue(eventQueueName(event.id), { connection, prefix: stack.prefix });
    const waiting = await queue.getWaiting();
    const original = waiting.find((j) => (j.data.requests as Array<{ requestId: string }>).some((r) => r.requestId === requestId));
    expect(original, 'the accepted request is in a queued job').toBeDefined();
    const { name, data } = original!;
    const originalJobId = original!.id!;

    await stack.startWorker();
    const first = await awaitDecision(stack.baseUrl, requestId);
    expect(first.status).toBe('confirmed');
    expect(first.bookingId).toEqual(expect.any(String));
    const availableAfterFirst = (await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available;
    expect(availableAfterFirst).toBe(3);

    // The decided job is removed from the queue.
    const deadline = Date.now() + 5_000;
    while ((await queue.getJob(originalJobId)) !== undefined) {
      if (Date.now() > deadline) throw new Error('the decided job was never removed from the queue');
      await sleep(20);
    }

    // Listen for what the worker publishes about this request before redelivering it.
    const channel = decisionsChannel(stack.prefix);
    await subscriber.subscribe(channel);
    const replayed = new Promise<BookingRequestView>((resolve) => {
      subscriber.on('message', (ch: string, payload: string) => {
        if (ch !== channel) return;
        const message = JSON.parse(payload) as DecisionMessage;
        const mine = message.type === 'decisions' ? message.requests.find((r) => r.requestId === requestId) : undefined;
        if (mine) resolve(mine);
      });
    });

    // The same payload again (BullMQ numbers its own job ids and refuses numeric custom ones).
    const job = await queue.add(name, data, { jobId: `again-${originalJobId}`, removeOnComplete: true, removeOnFail: KEEP_FAILED_JOBS });
    expect(job.id).toBe(`again-${originalJobId}`);

    const second = await Promise.race([
      replayed,
      sleep(10_000).then(() => {
        throw new Error('the redelivered job was not processed within 10 s');
      }),
    ]);
    expect(second).toMatchObject({
      requestId,
      status: 'confirmed',
      bookingId: first.bookingId,
      decidedAt: first.decidedAt,
    });

    const requests = await stack.db.selectFrom('booking_requests').selectAll().where('id', '=', requestId).execute();
    expect(requests).toHaveLength(1);
    const bookings = await stack.db.selectFrom('bookings').selectAll().where('request_id', '=', requestId).execute();
    expect(bookings.map((b) => b.id)).toEqual([first.bookingId]);
    const after = (await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body;
    expect(after.available).toBe(availableAfterFirst);
    const status = await awaitDecision(stack.baseUrl, requestId);
    expect(status).toMatchObject({ status: 'confirmed', bookingId: first.bookingId, decidedAt: first.decidedAt });

    // The replay took nothing: every seat left can still be booked (no false SOLD_OUT, at the door or later).
    const rest = await submit(stack.baseUrl, event.id, 'after-redelivery', availableAfterFirst);
    expect(rest.status, JSON.stringify(rest.body)).toBe(202);
    expect((await awaitDecision(stack.baseUrl, rest.body.requestId as string)).status).toBe('confirmed');
    await expectEventInvariants(stack.db, event.id);
  });

  it('decided twice as a batch of one keeps the first booking (replayed=true)', async () => {
    const event = await insertEvent(stack.db, { id: newEventId(), name: 'Direct decisions', capacity: 3 });
    const input = {
      requestId: newRequestId(event.id),
      eventId: event.id,
      userId: 'direct-user',
      quantity: 2,
      acceptedAt: new Date().toISOString(),
    };
    const firstBookingId = newBookingId();
    const first = await decideOne(stack.db, { ...input, bookingId: firstBookingId });
    expect(first).toMatchObject({ status: 'confirmed', reason: null, bookingId: firstBookingId, replayed: false });

    const second = await decideOne(stack.db, { ...input, bookingId: newBookingId() });
    expect(second).toEqual({ ...first, replayed: true });

    const bookings = await stack.db.selectFrom('bookings').select('id').where('request_id', '=', input.requestId).execute();
    expect(bookings).toEqual([{ id: firstBookingId }]);
    const row = await stack.db.selectFrom('events').select('available').where('id', '=', event.id).executeTakeFirstOrThrow();
    expect(row.available).toBe(1);
    await expectEventInvariants(stack.db, event.id);
  });
  it('rejected and redelivered after seats came back stays rejected', async () => {
    const event = await insertEvent(stack.db, { id: newEventId(), name: 'Decided once', capacity: 1 });
    const acceptedAt = new Date().toISOString();
    const holderBookingId = newBookingId();
    const holder = await decideOne(stack.db, {
      requestId: newRequestId(event.id),
      eventId: event.id,
      userId: 'holder',
      quantity: 1,
      acceptedAt,
      bookingId: holderBookingId,
    });
    expect(holder.status).toBe('confirmed');
    const late = { requestId: newRequestId(event.id), eventId: event.id, userId: 'late', quantity: 1, acceptedAt };
    const rejected = await decideOne(stack.db, { ...late, bookingId: newBookingId() });
    expect(rejected).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT', bookingId: null, replayed: false });

    await cancelBooking(stack.db, holderBookingId);
    const again = await decideOne(stack.db, { ...late, bookingId: newBookingId() });
    expect(again).toEqual({ ...rejected, replayed: true });
    const row = await stack.db.selectFrom('events').select('available').where('id', '=', event.id).executeTakeFirstOrThrow();
    expect(row.available).toBe(1);
    await expectEventInvariants(stack.db, event.id);
  });
});
