import {
  awaitDecision,
  createEvent,
  expectFieldProblem,
  expectProblem,
  fromNow,
  ISO_INSTANT,
  request,
  rowCounts,
  unknownId,
} from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

const book = (eventId: string, json: unknown, headers: Record<string, string> = {}) =>
  request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, { json, headers });

const available = async (eventId: string): Promise<number> => (await request(stack.baseUrl, 'GET', `/v1/events/${eventId}`)).body.available;

/** Books `quantity` seats and waits for the confirmation; returns the booking id. */
async function confirmedBooking(eventId: string, userId: string, quantity: number): Promise<string> {
  const res = await book(eventId, { userId, quantity });
  expect(res.status).toBe(202);
  const decision = await awaitDecision(stack.baseUrl, res.body.requestId, 10);
  expect(decision.status).toBe('confirmed');
  return decision.bookingId;
}

describe('POST /v1/events/:eventId/bookings', () => {
  let eventId: string;
  beforeAll(async () => {
    eventId = (await createEvent(stack.baseUrl, { capacity: 1000 })).id;
  });

  it('answers 202 with the request, pending, and its Location', async () => {
    const res = await book(eventId, { userId: 'alice', quantity: 2 });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ requestId: expect.any(String), status: 'pending', eventId, userId: 'alice', quantity: 2 });
    expect(res.headers.get('location')).toBe(`/v1/booking-requests/${res.body.requestId}`);
  });

  it('accepts the bounds: a 128-character userId and quantity 1 and 10', async () => {
    const answers = await Promise.all([
      book(eventId, { userId: 'u'.repeat(128), quantity: 1 }),
      book(eventId, { userId: 'bounds', quantity: 10 }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([202, 202]);
  });

  it('accepts a 255-character Idempotency-Key', async () => {
    const res = await book(eventId, { userId: 'keyed', quantity: 1 }, { 'idempotency-key': 'k'.repeat(255) });
    expect(res.status).toBe(202);
  });

  const invalid: [string, unknown, string][] = [
    ['userId is empty', { userId: '', quantity: 1 }, 'userId'],
    ['userId has 129 characters', { userId: 'u'.repeat(129), quantity: 1 }, 'userId'],
    ['userId is a number', { userId: 42, quantity: 1 }, 'userId'],
    ['userId is missing', { quantity: 1 }, 'userId'],
    ['quantity is 0', { userId: 'bob', quantity: 0 }, 'quantity'],
    ['quantity is 11', { userId: 'bob', quantity: 11 }, 'quantity'],
    ['quantity is 2.5', { userId: 'bob', quantity: 2.5 }, 'quantity'],
    ['quantity is a string', { userId: 'bob', quantity: '2' }, 'quantity'],
    ['quantity is missing', { userId: 'bob' }, 'quantity'],
  ];
  it.each(invalid)('answers 400 VALIDATION_FAILED naming the field when %s', async (_case, body, field) => {
    expectFieldProblem(await book(eventId, body), field);
  });

  it('answers 400 VALIDATION_FAILED naming an unknown extra field', async () => {
    const res = await book(eventId, { userId: 'bob', quantity: 1, price: 0 });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(res.body.errors)).toContain('price');
  });

  it('answers 400 VALIDATION_FAILED for malformed JSON', async () => {
    const res = await request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, {
      body: '{"userId": "bob", ',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 400, 'VALIDATION_FAILED');
  });

  it.each([
    ['256 characters', 'k'.repeat(256)],
    ['empty', ''],
    ['a non-ASCII character', 'clé'],
  ])('answers 400 VALIDATION_FAILED for an Idempotency-Key that is %s', async (_case, key) => {
    const res = await book(eventId, { userId: 'bob', quantity: 1 }, { 'idempotency-key': key });
    expectProblem(res, 400, 'VALIDATION_FAILED');
  });

  it('names the Idempotency-Key header, not the body, in the errors of a bad key', async () => {
    const res = await book(eventId, { userId: 'bob', quantity: 1 }, { 'idempotency-key': 'k'.repeat(256) });
    expectFieldProblem(res, 'Idempotency-Key');
  });

  it('answers 404 EVENT_NOT_FOUND for an unknown event', async () => {
    expectProblem(await book(unknownId(), { userId: 'nf-1', quantity: 1 }), 404, 'EVENT_NOT_FOUND');
  });

  it('answers 404 EVENT_NOT_FOUND for a garbage event id', async () => {
    expectProblem(await book('not-an-event', { userId: 'nf-2', quantity: 1 }), 404, 'EVENT_NOT_FOUND');
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE for a body that is not JSON', async () => {
    const res = await request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, {
      body: 'userId=bob&quantity=1',
      headers: { 'content-type': 'text/plain' },
    });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE for a body without a content type', async () => {
    const res = await fetch(`${stack.baseUrl}/v1/events/${eventId}/bookings`, {
      method: 'POST',
      body: new Uint8Array(Buffer.from('{"userId":"bob","quantity":1}')),
    });
    expectProblem({ status: res.status, headers: res.headers, body: await res.json() }, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 PAYLOAD_TOO_LARGE for a body over 16 KiB', async () => {
    const res = await book(eventId, { userId: 'bob', quantity: 1, padding: 'x'.repeat(17 * 1024) });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 409 SALES_NOT_OPEN before salesStartAt', async () => {
    const early = await createEvent(stack.baseUrl, { capacity: 10, salesStartAt: fromNow(3600_000) });
    expectProblem(await book(early.id, { userId: 'early', quantity: 1 }), 409, 'SALES_NOT_OPEN');
  });

  it('answers 409 SALES_CLOSED after salesEndAt', async () => {
    const late = await createEvent(stack.baseUrl, {
      capacity: 10,
      salesStartAt: fromNow(-7200_000),
      salesEndAt: fromNow(-3600_000),
    });
    expectProblem(await book(late.id, { userId: 'late', quantity: 1 }), 409, 'SALES_CLOSED');
  });

  it('answers 409 SOLD_OUT once every seat is taken by requests already accepted', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2 });
    expect((await book(event.id, { userId: 'sold-1', quantity: 2 })).status).toBe(202);
    expectProblem(await book(event.id, { userId: 'sold-2', quantity: 1 }), 409, 'SOLD_OUT');
  });

  it('answers the original 202 to the same Idempotency-Key with the same body', async () => {
    const headers = { 'idempotency-key': `same-${unknownId()}` };
    const first = await book(eventId, { userId: 'idem-1', quantity: 1 }, headers);
    const again = await book(eventId, { userId: 'idem-1', quantity: 1 }, headers);
    expect(first.status).toBe(202);
    expect({ status: again.status, body: again.body, location: again.headers.get('location') }).toEqual({
      status: 202,
      body: first.body,
      location: first.headers.get('location'),
    });
  });

  it('answers 422 IDEMPOTENCY_KEY_REUSED to the same Idempotency-Key with another body', async () => {
    const headers = { 'idempotency-key': `reused-${unknownId()}` };
    expect((await book(eventId, { userId: 'idem-2', quantity: 1 }, headers)).status).toBe(202);
    expectProblem(await book(eventId, { userId: 'idem-2', quantity: 2 }, headers), 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('accepts a booking inside the sales window', async () => {
    const open = await createEvent(stack.baseUrl, {
      capacity: 10,
      salesStartAt: fromNow(-3600_000),
      salesEndAt: fromNow(3600_000),
    });
    expect((await book(open.id, { userId: 'in-window', quantity: 1 })).status).toBe(202);
  });

  it('changes nothing and queues nothing for a batch of bad submissions', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const path = `/v1/events/${event.id}/bookings`;
    const bad = [
      ...invalid.map(([, body]) => book(event.id, body)),
      book(event.id, { userId: 'bob', quantity: 1, price: 0 }),
      book(event.id, { userId: 'bob', quantity: 1 }, { 'idempotency-key': 'k'.repeat(256) }),
      book(event.id, { userId: 'bob', quantity: 1, padding: 'x'.repeat(17 * 1024) }),
      request(stack.baseUrl, 'POST', path, { body: '{"userId": ', headers: { 'content-type': 'application/json' } }),
      request(stack.baseUrl, 'POST', path, { body: 'userId=bob', headers: { 'content-type': 'text/plain' } }),
    ];
    const statuses = (await Promise.all(bad)).map((r) => r.status);
    expect(statuses.filter((s) => s === 202 || s >= 500)).toEqual([]);

    expect(await available(event.id)).toBe(5);
    expect(await rowCounts(stack.db, event.id)).toEqual({ events: 1, booking_requests: 0, bookings: 0 });
    // Every seat is still there to take, and decisions are made in order: once a later good request
    // is decided, anything queued before it was too.
    await confirmedBooking(event.id, 'good', 5);
    expect(await rowCounts(stack.db, event.id)).toEqual({ events: 1, booking_requests: 1, bookings: 1 });
    expect(await available(event.id)).toBe(0);
  });
});

describe('POST /v1/events/:eventId/bookings with a per-user rate limit', () => {
  let limited: Stack;
  beforeAll(async () => {
    limited = await startStack({ workers: 0, rateLimit: { points: 3, windowSeconds: 60 } });
  });
  afterAll(async () => {
    await limited.close();
  });

  it('answers 429 RATE_LIMITED with Retry-After once one user is over the limit', async () => {
    const event = await createEvent(limited.baseUrl, { capacity: 100 });
    const send = () => request(limited.baseUrl, 'POST', `/v1/events/${event.id}/bookings`, { json: { userId: 'flooder', quantity: 1 } });
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe(202);
    const res = await send();
    expectProblem(res, 429, 'RATE_LIMITED');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('keeps accepting other users while one is limited', async () => {
    const event = await createEvent(limited.baseUrl, { capacity: 100 });
    const send = (userId: string) => request(limited.baseUrl, 'POST', `/v1/events/${event.id}/bookings`, { json: { userId, quantity: 1 } });
    for (let i = 0; i < 4; i++) await send('greedy');
    expect((await send('patient')).status).toBe(202);
  });
});

describe('GET /v1/bookings/:bookingId', () => {
  it('answers 200 with the confirmed booking', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const bookingId = await confirmedBooking(event.id, 'carol', 3);
    const res = await request(stack.baseUrl, 'GET', `/v1/bookings/${bookingId}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: bookingId,
      eventId: event.id,
      userId: 'carol',
      quantity: 3,
      status: 'confirmed',
      createdAt: expect.stringMatching(ISO_INSTANT),
    });
  });

  it('answers 404 BOOKING_NOT_FOUND for an unknown id', async () => {
    expectProblem(await request(stack.baseUrl, 'GET', `/v1/bookings/${unknownId()}`), 404, 'BOOKING_NOT_FOUND');
  });

  it('answers 404 BOOKING_NOT_FOUND for a garbage id', async () => {
    expectProblem(await request(stack.baseUrl, 'GET', '/v1/bookings/nope'), 404, 'BOOKING_NOT_FOUND');
  });
});

describe('POST /v1/bookings/:bookingId/cancel', () => {
  it('answers 200 with the booking cancelled and returns its seats to the event', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const bookingId = await confirmedBooking(event.id, 'dave', 3);
    expect(await available(event.id)).toBe(2);

    const res = await request(stack.baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: bookingId, status: 'cancelled', cancelledAt: expect.stringMatching(ISO_INSTANT) });
    expect(await available(event.id)).toBe(5);
  });

  it('shows the booking as cancelled afterwards', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const bookingId = await confirmedBooking(event.id, 'erin', 1);
    const cancelled = await request(stack.baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`);
    const res = await request(stack.baseUrl, 'GET', `/v1/bookings/${bookingId}`);
    expect(res.body).toEqual(cancelled.body);
  });

  it('answers 200 to a second cancel and changes nothing', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const bookingId = await confirmedBooking(event.id, 'frank', 2);
    const first = await request(stack.baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`);
    const second = await request(stack.baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(await available(event.id)).toBe(5);
  });

  it('answers 404 BOOKING_NOT_FOUND for an unknown id', async () => {
    expectProblem(await request(stack.baseUrl, 'POST', `/v1/bookings/${unknownId()}/cancel`), 404, 'BOOKING_NOT_FOUND');
  });

  it('answers 404 BOOKING_NOT_FOUND for a garbage id', async () => {
    expectProblem(await request(stack.baseUrl, 'POST', '/v1/bookings/nope/cancel'), 404, 'BOOKING_NOT_FOUND');
  });
});
