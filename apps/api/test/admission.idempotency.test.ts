import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { findAcceptedRequest } from '@booking/db';
import { awaitDecision, createEvent, deleteKeys, expectProblem, request, rowCounts, submit } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('Idempotency-Key on POST /v1/events/:eventId/bookings', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  const withKey = (key: string) => ({ 'idempotency-key': key });

  it('answers twenty concurrent copies of one key and body with one requestId and records one request', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 20 }, () => submit(stack.baseUrl, event.id, 'twin', 2, withKey(key))));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    const ids = new Set(answers.map((a) => a.body.requestId as string));
    expect(ids.size).toBe(1);

    const decided = await awaitDecision(stack.baseUrl, [...ids][0]!);
    expect(decided.status).toBe('confirmed');
    expect(await rowCounts(stack.db, event.id)).toEqual({ events: 1, booking_requests: 1, bookings: 1 });
  });

  it('replays the original 202 after the request is decided', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const key = randomUUID();
    const first = await submit(stack.baseUrl, event.id, 'replayer', 1, withKey(key));
    expect(first.status).toBe(202);
    expect((await awaitDecision(stack.baseUrl, first.body.requestId as string)).status).toBe('confirmed');

    const again = await submit(stack.baseUrl, event.id, 'replayer', 1, withKey(key));
    expect({ status: again.status, body: again.body }).toEqual({ status: 202, body: first.body });
  });

  it('answers 422 IDEMPOTENCY_KEY_REUSED to the same key with another body', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const key = randomUUID();
    expect((await submit(stack.baseUrl, event.id, 'reuser', 1, withKey(key))).status).toBe(202);
    const path = `/v1/events/${event.id}/bookings`;
    const res = await request(stack.baseUrl, 'POST', path, { json: { userId: 'reuser', quantity: 2 }, headers: withKey(key) });
    expectProblem(res, 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('still replays the original 202 after the API restarts', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const key = randomUUID();
    const first = await submit(stack.baseUrl, event.id, 'survivor', 1, withKey(key));
    expect(first.status).toBe(202);
    await stack.restartApi();
    const again = await submit(stack.baseUrl, event.id, 'survivor', 1, withKey(key));
    expect({ status: again.status, body: again.body }).toEqual({ status: 202, body: first.body });
  });

  it('replays a first 409 SOLD_OUT as 409 SOLD_OUT even once seats have come back', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1 });
    const holder = await submit(stack.baseUrl, event.id, 'holder', 1);
    const held = await awaitDecision(stack.baseUrl, holder.body.requestId as string);
    expect(held.status).toBe('confirmed');
    const key = randomUUID();
    const path = `/v1/events/${event.id}/bookings`;
    const send = () => request(stack.baseUrl, 'POST', path, { json: { userId: 'late', quantity: 1 }, headers: withKey(key) });
    expectProblem(await send(), 409, 'SOLD_OUT');

    const cancelled = await request(stack.baseUrl, 'POST', `/v1/bookings/${held.bookingId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available).toBe(1);

    // The same key answers as it did the first time, although a new submission would now get a seat.
    expectProblem(await send(), 409, 'SOLD_OUT');
    expect(await rowCounts(stack.db, event.id)).toEqual({ events: 1, booking_requests: 1, bookings: 1 });
  });

  it('treats the same key on another event as a new request', async () => {
    const first = await createEvent(stack.baseUrl, { capacity: 10 });
    const second = await createEvent(stack.baseUrl, { capacity: 10 });
    const key = randomUUID();
    const a = await submit(stack.baseUrl, first.id, 'traveller', 1, withKey(key));
    const b = await submit(stack.baseUrl, second.id, 'traveller', 1, withKey(key));
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.requestId).not.toBe(a.body.requestId);
    expect(b.body.eventId).toBe(second.id);

    const decided = await Promise.all([a, b].map((r) => awaitDecision(stack.baseUrl, r.body.requestId as string)));
    expect(decided.map((d) => [d.eventId, d.status])).toEqual([
      [first.id, 'confirmed'],
      [second.id, 'confirmed'],
    ]);
  });

  describe('after Redis loses its data (PostgreSQL keeps the keys)', () => {
    it('answers a retry of a decided request with its requestId and books nothing new', async () => {
      const event = await createEvent(stack.baseUrl, { capacity: 10 });
      const key = randomUUID();
      const first = await submit(stack.baseUrl, event.id, 'durable', 2, withKey(key));
      expect(first.status).toBe(202);
      expect((await awaitDecision(stack.baseUrl, first.body.requestId as string)).status).toBe('confirmed');

      await deleteKeys(stack.prefix);
      const again = await submit(stack.baseUrl, event.id, 'durable', 2, withKey(key));
      expect(again.status).toBe(202);
      expect(again.body).toMatchObject({ requestId: first.body.requestId, eventId: event.id, userId: 'durable', quantity: 2 });
      const reused = await request(stack.baseUrl, 'POST', `/v1/events/${event.id}/bookings`, {
        json: { userId: 'durable', quantity: 1 },
        headers: withKey(key),
      });
      expectProblem(reused, 422, 'IDEMPOTENCY_KEY_REUSED');
      await sleep(300);
      expect(await rowCounts(stack.db, event.id)).toEqual({ events: 1, booking_requests: 1, bookings: 1 });
    });

    it('answers a retry of a request still waiting in the journal with its requestId, and decides it once', async () => {
      const event = await createEvent(stack.baseUrl, { capacity: 10 });
      const worker = stack.workers.pop()!;
      await worker.close();
      const key = randomUUID();
      const first = await submit(stack.baseUrl, event.id, 'journalled', 1, withKey(key));
      expect(first.status).toBe(202);
      // The journal is written behind the 202.
      for (let i = 0; i < 50 && !(await findAcceptedRequest(stack.db, first.body.requestId as string)); i++) await sleep(50);

      await deleteKeys(stack.prefix);
      const again = await submit(stack.baseUrl, event.id, 'journalled', 1, withKey(key));
      expect({ status: again.status, requestId: again.body.requestId }).toEqual({ status: 202, requestId: first.body.requestId });

      await stack.startWorker();
      expect((await awaitDecision(stack.baseUrl, first.body.requestId as string)).status).toBe('confirmed');
      await sleep(300);
      expect(await rowCounts(stack.db, event.id)).toEqual({ events: 1, booking_requests: 1, bookings: 1 });
    });
  });
});
