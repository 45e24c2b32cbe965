import { randomUUID } from 'node:crypto';

import { createEvent, expectProblem, request, submit } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('POST /v1/events/:eventId/bookings with Prefer: wait=N (submit and wait in one round trip)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('answers 200 with the decided request, Preference-Applied and Location', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const res = await submit(stack.baseUrl, event.id, 'waiter', 2, { prefer: 'wait=10' });
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('wait=10');
    expect(res.body).toMatchObject({ eventId: event.id, userId: 'waiter', quantity: 2, status: 'confirmed' });
    expect(res.body.bookingId).toEqual(expect.any(String));
    expect(res.headers.get('location')).toBe(`/v1/booking-requests/${res.body.requestId}`);
    // The same body as the long-poll gives.
    const polled = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${res.body.requestId}`);
    expect(polled.body).toEqual(res.body);
  });

  it('answers 200 with a rejection decided by the worker', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2, maxPerUser: 1 });
    // The gate holds no promise for a request over the per-user limit: the worker decides it.
    expect((await submit(stack.baseUrl, event.id, 'greedy', 1, { prefer: 'wait=10' })).body.status).toBe('confirmed');
    const res = await submit(stack.baseUrl, event.id, 'greedy', 1, { prefer: 'wait=10' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'rejected', reason: 'USER_LIMIT_EXCEEDED' });
  });

  it('keeps a 409 at the door a 409', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1 });
    expect((await submit(stack.baseUrl, event.id, 'first', 1, { prefer: 'wait=5' })).status).toBe(200);
    expectProblem(await submit(stack.baseUrl, event.id, 'second', 1, { prefer: 'wait=5' }), 409, 'SOLD_OUT');
  });

  it('answers 202 exactly as without the header when the decision takes longer than N', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    // No worker serves the event meanwhile: the request stays pending.
    const worker = stack.workers.pop()!;
    await worker.close();
    try {
      const started = Date.now();
      const res = await submit(stack.baseUrl, event.id, 'patient', 1, { prefer: 'wait=1' });
      expect(res.status).toBe(202);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(res.headers.get('preference-applied')).toBeNull();
      expect(res.body).toMatchObject({ status: 'pending', eventId: event.id, userId: 'patient', quantity: 1 });
      expect(res.headers.get('location')).toBe(`/v1/booking-requests/${res.body.requestId}`);
    } finally {
      await stack.startWorker();
    }
  });

  it('ignores a Prefer header without a usable wait', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    for (const prefer of ['respond-async', 'wait=0', 'wait=abc', 'wait=-3']) {
      const res = await submit(stack.baseUrl, event.id, `p-${randomUUID()}`, 1, { prefer });
      expect(res.status, prefer).toBe(202);
      expect(res.headers.get('preference-applied'), prefer).toBeNull();
    }
  });

  it("answers a long-poll of a request it queued with its decision and the caller's X-Request-Id", async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const submitted = await submit(stack.baseUrl, event.id, 'poller', 1);
    expect(submitted.status).toBe(202);
    const res = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${submitted.body.requestId}?wait=10`, {
      headers: { 'x-request-id': 'poll-correlation-1' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('poll-correlation-1');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ requestId: submitted.body.requestId, status: 'confirmed' });
    // Asked again, it is read from the records: the same answer.
    const again = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${submitted.body.requestId}?wait=10`);
    expect(again.body).toEqual(res.body);
  });

  it('caps the wait at 30 s and says so', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const res = await submit(stack.baseUrl, event.id, 'long', 1, { prefer: 'respond-async, wait=120' });
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('wait=30');
  });
});

describe('Idempotency-Key replays come before the rate limit', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ rateLimit: { points: 3, windowSeconds: 60 } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('answers ten retries of one key with the first answer, never 429, and books once', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const key = randomUUID();
    const first = await submit(stack.baseUrl, event.id, 'retrier', 1, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    for (let i = 0; i < 10; i++) {
      const again = await submit(stack.baseUrl, event.id, 'retrier', 1, { 'idempotency-key': key });
      expect({ status: again.status, body: again.body }, `retry ${i}`).toEqual({ status: 202, body: first.body });
    }
    // Replays did not use up the user's limit: two more new requests still fit in it.
    expect((await submit(stack.baseUrl, event.id, 'retrier', 1)).status).toBe(202);
    expect((await submit(stack.baseUrl, event.id, 'retrier', 1)).status).toBe(202);
    expectProblem(await submit(stack.baseUrl, event.id, 'retrier', 1), 429, 'RATE_LIMITED');
  });

  it('answers 422 to a key reused with another body even when the user is over the limit', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const key = randomUUID();
    expect((await submit(stack.baseUrl, event.id, 'reuser', 1, { 'idempotency-key': key })).status).toBe(202);
    for (let i = 0; i < 3; i++) await submit(stack.baseUrl, event.id, 'reuser', 1);
    expectProblem(await submit(stack.baseUrl, event.id, 'reuser', 2, { 'idempotency-key': key }), 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('leaves nothing behind for a request refused by the limit: a retry with its key is decided afresh later', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    for (let i = 0; i < 3; i++) expect((await submit(stack.baseUrl, event.id, 'burst', 1)).status).toBe(202);
    const key = randomUUID();
    expectProblem(await submit(stack.baseUrl, event.id, 'burst', 1, { 'idempotency-key': key }), 429, 'RATE_LIMITED');
    // The refused request holds no seats at the door: 2 seats left, another user gets both.
    const other = await submit(stack.baseUrl, event.id, 'other', 2, { prefer: 'wait=10' });
    expect(other.body.status).toBe('confirmed');
  });
});
