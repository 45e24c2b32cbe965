import { createEvent, request } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AUDIENCE, bearer, hsToken, ISSUER, TEST_SECRET } from './tokens.ts';

// With identities, a user sees and changes only their own requests and bookings; the admin key any.

let stack: Stack;
let alice: Record<string, string>;
let bob: Record<string, string>;
let requestId: string;
let bookingId: string;

/** Books one seat as `who` and waits (as that user) for the decision. */
async function bookAs(who: Record<string, string>, eventId: string): Promise<{ requestId: string; bookingId: string }> {
  const accepted = await request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, { json: { quantity: 1 }, headers: who });
  expect(accepted.status).toBe(202);
  const id = accepted.body.requestId as string;
  for (let i = 0; i < 10; i++) {
    const polled = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${id}?wait=10`, { headers: who });
    expect(polled.status).toBe(200);
    if (polled.body.status === 'confirmed') return { requestId: id, bookingId: polled.body.bookingId };
  }
  throw new Error('the request was not confirmed');
}

beforeAll(async () => {
  stack = await startStack({ api: { auth: { mode: 'jwt', jwtSecret: TEST_SECRET, issuer: ISSUER, audience: AUDIENCE } } });
  alice = bearer(await hsToken('alice'));
  bob = bearer(await hsToken('bob'));
  const event = await createEvent(stack.baseUrl, { capacity: 10 });
  ({ requestId, bookingId } = await bookAs(alice, event.id));
});

afterAll(async () => {
  await stack?.close();
});

describe('ownership with AUTH_MODE=jwt', () => {
  it('lets the owner read the request and the booking', async () => {
    expect((await request(stack.baseUrl, 'GET', `/v1/booking-requests/${requestId}`, { headers: alice })).body).toMatchObject({
      userId: 'alice',
    });
    expect((await request(stack.baseUrl, 'GET', `/v1/bookings/${bookingId}`, { headers: alice })).body).toMatchObject({ userId: 'alice' });
  });

  it('answers 404 to another user reading the request, also with a long-poll', async () => {
    for (const wait of ['0', '2']) {
      const res = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${requestId}?wait=${wait}`, { headers: bob });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('REQUEST_NOT_FOUND');
    }
  });

  it('answers 404 to another user reading or cancelling the booking, and the booking stays', async () => {
    const read = await request(stack.baseUrl, 'GET', `/v1/bookings/${bookingId}`, { headers: bob });
    expect(read.status).toBe(404);
    expect(read.body.code).toBe('BOOKING_NOT_FOUND');
    const cancel = await request(stack.baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`, { headers: bob });
    expect(cancel.status).toBe(404);
    expect((await request(stack.baseUrl, 'GET', `/v1/bookings/${bookingId}`, { headers: alice })).body.status).toBe('confirmed');
  });

  it('answers 401 to reading or cancelling without a token', async () => {
    for (const [method, path] of [
      ['GET', `/v1/booking-requests/${requestId}`],
      ['GET', `/v1/bookings/${bookingId}`],
      ['POST', `/v1/bookings/${bookingId}/cancel`],
    ] as const) {
      const res = await request(stack.baseUrl, method, path);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it("lists only the caller's bookings", async () => {
    const mine = await request(stack.baseUrl, 'GET', '/v1/me/bookings', { headers: alice });
    expect(mine.body.items.map((b: { id: string }) => b.id)).toEqual([bookingId]);
    const theirs = await request(stack.baseUrl, 'GET', '/v1/me/bookings', { headers: bob });
    expect(theirs.body).toEqual({ items: [], nextCursor: null });
  });

  it('lets the admin key read the request and the booking, and cancel it', async () => {
    expect((await request(stack.baseUrl, 'GET', `/v1/booking-requests/${requestId}`, { admin: true })).status).toBe(200);
    expect((await request(stack.baseUrl, 'GET', `/v1/bookings/${bookingId}`, { admin: true })).status).toBe(200);
    const cancelled = await request(stack.baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`, { admin: true });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: bookingId, status: 'cancelled' });
  });

  it('lets the owner cancel their own booking', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1 });
    const own = await bookAs(bob, event.id);
    const res = await request(stack.baseUrl, 'POST', `/v1/bookings/${own.bookingId}/cancel`, { headers: bob });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('cancelled');
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available).toBe(1);
  });

  it('answers 404 to another user confirming a held booking or withdrawing a waitlisted request; the owner may', async () => {
    const held = await createEvent(stack.baseUrl, { capacity: 1, holdSeconds: 600, waitlistLimit: 10 });
    // A held booking's request is confirmed: bookAs waits for that.
    const hold = await bookAs(alice, held.id);
    const confirm = await request(stack.baseUrl, 'POST', `/v1/bookings/${hold.bookingId}/confirm`, { headers: bob });
    expect(confirm.status).toBe(404);
    expect(confirm.body.code).toBe('BOOKING_NOT_FOUND');
    expect((await request(stack.baseUrl, 'GET', `/v1/bookings/${hold.bookingId}`, { headers: alice })).body.status).toBe('held');
    expect((await request(stack.baseUrl, 'POST', `/v1/bookings/${hold.bookingId}/confirm`)).status, 'no token').toBe(401);

    // The event is sold out now: Bob joins its waiting list; Alice may not take him off it.
    const joined = await request(stack.baseUrl, 'POST', `/v1/events/${held.id}/bookings`, {
      json: { quantity: 1, waitlist: true },
      headers: bob,
    });
    expect(joined.status).toBe(202);
    const waitlisted = joined.body.requestId as string;
    for (let i = 0; i < 20; i++) {
      const polled = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${waitlisted}?wait=5`, { headers: bob });
      if (polled.body.status === 'waitlisted') break;
    }
    const withdraw = await request(stack.baseUrl, 'POST', `/v1/booking-requests/${waitlisted}/withdraw`, { headers: alice });
    expect(withdraw.status).toBe(404);
    expect(withdraw.body.code).toBe('REQUEST_NOT_FOUND');
    const own = await request(stack.baseUrl, 'POST', `/v1/booking-requests/${waitlisted}/withdraw`, { headers: bob });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ status: 'rejected', reason: 'WITHDRAWN' });

    const confirmed = await request(stack.baseUrl, 'POST', `/v1/bookings/${hold.bookingId}/confirm`, { headers: alice });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.status).toBe('confirmed');
  });
});
