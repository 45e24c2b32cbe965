import {
  awaitDecision,
  createEvent,
  expectFieldProblem,
  expectProblem,
  ISO_INSTANT,
  request,
  submit,
  unknownId,
} from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const poll = (stack: Stack, requestId: string, query = '') => request(stack.baseUrl, 'GET', `/v1/booking-requests/${requestId}${query}`);

describe('GET /v1/booking-requests/:requestId while no worker runs', () => {
  // No worker at first: requests stay pending until a test starts one.
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: 0 });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('answers 200 pending with acceptedAt and no decision fields', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const before = Date.now();
    const accepted = await submit(stack.baseUrl, event.id, 'alice', 2);
    const res = await poll(stack, accepted.body.requestId);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      requestId: accepted.body.requestId,
      eventId: event.id,
      userId: 'alice',
      quantity: 2,
      status: 'pending',
      acceptedAt: expect.stringMatching(ISO_INSTANT),
    });
    expect(Object.keys(res.body).filter((k) => ['decidedAt', 'bookingId', 'reason'].includes(k))).toEqual([]);
    expect(Date.parse(res.body.acceptedAt)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(res.body.acceptedAt)).toBeLessThanOrEqual(Date.now());
  });

  it('answers pending after the wait when nothing is decided', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const accepted = await submit(stack.baseUrl, event.id, 'bob', 1);
    const started = Date.now();
    const res = await poll(stack, accepted.body.requestId, '?wait=1');
    const elapsed = Date.now() - started;
    expect(res.body.status).toBe('pending');
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3000);
  });

  it('answers 404 REQUEST_NOT_FOUND at once for an unknown id, even with a wait', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const started = Date.now();
    const res = await poll(stack, `${event.id}.${unknownId()}`, '?wait=5');
    expectProblem(res, 404, 'REQUEST_NOT_FOUND');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  // Starts the worker: keep this test last in this block.
  it('returns from a long-poll as soon as the request is decided', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const accepted = await submit(stack.baseUrl, event.id, 'carol', 1);
    const requestId = accepted.body.requestId as string;
    expect((await poll(stack, requestId)).body.status).toBe('pending');

    const started = Date.now();
    const waiting = poll(stack, requestId, '?wait=20');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stack.startWorker();
    const res = await waiting;
    const elapsed = Date.now() - started;
    expect(res.body).toMatchObject({ requestId, status: 'confirmed' });
    expect(elapsed).toBeGreaterThanOrEqual(300);
    // Well before the 20 s the client asked to wait (a worker starting on a loaded machine takes a while).
    expect(elapsed).toBeLessThan(15_000);
  });
});

describe('GET /v1/booking-requests/:requestId', () => {
  let stack: Stack;
  let eventId: string;
  beforeAll(async () => {
    // Without the admission gate every request is queued, so the worker makes every kind of decision.
    stack = await startStack({ admissionGate: false });
    eventId = (await createEvent(stack.baseUrl, { capacity: 10, maxPerUser: 2 })).id;
  });
  afterAll(async () => {
    await stack.close();
  });

  it('answers a confirmed request with decidedAt and a bookingId that resolves', async () => {
    const accepted = await submit(stack.baseUrl, eventId, 'dave', 2);
    const decided = await awaitDecision(stack.baseUrl, accepted.body.requestId, 10);
    expect(decided).toEqual({
      requestId: accepted.body.requestId,
      eventId,
      userId: 'dave',
      quantity: 2,
      status: 'confirmed',
      bookingId: expect.any(String),
      acceptedAt: expect.stringMatching(ISO_INSTANT),
      decidedAt: expect.stringMatching(ISO_INSTANT),
    });
    expect(Date.parse(decided.decidedAt)).toBeGreaterThanOrEqual(Date.parse(decided.acceptedAt));
    const booking = await request(stack.baseUrl, 'GET', `/v1/bookings/${decided.bookingId}`);
    expect(booking.body).toMatchObject({ id: decided.bookingId, userId: 'dave', quantity: 2, status: 'confirmed' });
  });

  it('answers a request rejected over the per-user limit with its reason and no bookingId', async () => {
    const accepted = await submit(stack.baseUrl, eventId, 'erin', 3);
    const decided = await awaitDecision(stack.baseUrl, accepted.body.requestId, 10);
    expect(decided).toEqual({
      requestId: accepted.body.requestId,
      eventId,
      userId: 'erin',
      quantity: 3,
      status: 'rejected',
      reason: 'USER_LIMIT_EXCEEDED',
      acceptedAt: expect.stringMatching(ISO_INSTANT),
      decidedAt: expect.stringMatching(ISO_INSTANT),
    });
  });

  it('answers a request rejected for lack of seats with reason SOLD_OUT and no bookingId', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1 });
    const first = await submit(stack.baseUrl, event.id, 'frank', 1);
    const second = await submit(stack.baseUrl, event.id, 'grace', 1);
    expect([first.status, second.status]).toEqual([202, 202]);
    await awaitDecision(stack.baseUrl, first.body.requestId, 10);
    const decided = await awaitDecision(stack.baseUrl, second.body.requestId, 10);
    expect(decided).toEqual({
      requestId: second.body.requestId,
      eventId: event.id,
      userId: 'grace',
      quantity: 1,
      status: 'rejected',
      reason: 'SOLD_OUT',
      acceptedAt: expect.stringMatching(ISO_INSTANT),
      decidedAt: expect.stringMatching(ISO_INSTANT),
    });
  });

  it('answers the same decision with wait=0 as with a long-poll', async () => {
    const accepted = await submit(stack.baseUrl, eventId, 'heidi', 1);
    const decided = await awaitDecision(stack.baseUrl, accepted.body.requestId, 10);
    const res = await poll(stack, accepted.body.requestId, '?wait=0');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(decided);
  });

  it.each([
    ['31', '?wait=31'],
    ['-1', '?wait=-1'],
    ['abc', '?wait=abc'],
    ['1.5', '?wait=1.5'],
  ])('answers 400 VALIDATION_FAILED naming wait for wait=%s', async (_case, query) => {
    const accepted = await submit(stack.baseUrl, eventId, 'ivan', 1);
    expectFieldProblem(await poll(stack, accepted.body.requestId, query), 'wait');
  });

  it.each([
    ['a well-formed id of an unknown event', () => `${unknownId()}.${unknownId()}`],
    ['a well-formed id of a known event', () => `${eventId}.${unknownId()}`],
    ['an id without a dot', () => 'nope'],
    ['an event id alone', () => eventId],
    ['a very long id', () => `${'x'.repeat(1000)}.${'y'.repeat(1000)}`],
  ])('answers 404 REQUEST_NOT_FOUND for %s', async (_case, id) => {
    expectProblem(await poll(stack, id()), 404, 'REQUEST_NOT_FOUND');
  });
});
