import { setTimeout as sleep } from 'node:timers/promises';

import { bookingRequestView, problemDetails } from '@booking/domain';
import { createEvent, expectEventInvariants, request } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Submits with `Prefer: wait` and returns the answer (200 decided or waitlisted, 202, or 409). */
function send(stack: Stack, eventId: string, userId: string, quantity: number, waitlist?: boolean) {
  return request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, {
    json: { userId, quantity, ...(waitlist === undefined ? {} : { waitlist }) },
    headers: { prefer: 'wait=20' },
  });
}
const read = (stack: Stack, requestId: string, wait = 0) =>
  request(stack.baseUrl, 'GET', `/v1/booking-requests/${requestId}${wait ? `?wait=${wait}` : ''}`);
const withdraw = (stack: Stack, requestId: string) => request(stack.baseUrl, 'POST', `/v1/booking-requests/${requestId}/withdraw`);
const cancel = (stack: Stack, bookingId: string) => request(stack.baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`);

describe('waiting list', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('refuses a bad waitlistLimit or waitlist flag with 400', async () => {
    for (const waitlistLimit of [0, 100_001, 2.5]) {
      const res = await request(stack.baseUrl, 'POST', '/v1/events', { admin: true, json: { name: 'W', capacity: 1, waitlistLimit } });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('waitlistLimit');
    }
    const event = await createEvent(stack.baseUrl, { capacity: 1, waitlistLimit: 5 });
    const res = await request(stack.baseUrl, 'POST', `/v1/events/${event.id}/bookings`, {
      json: { userId: 'x', quantity: 1, waitlist: 'yes' },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });

  it('joins the list when sold out, in order, while it has room; then SOLD_OUT', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2, waitlistLimit: 2 });
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.waitlistLimit).toBe(2);
    const first = await send(stack, event.id, 'ann', 2);
    expect(first.body.status).toBe('confirmed');
    const b = await send(stack, event.id, 'ben', 1, true);
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ status: 'waitlisted', waitlistPosition: 1 });
    expect(bookingRequestView.safeParse(b.body).success).toBe(true);
    const c = await send(stack, event.id, 'cem', 2, true);
    expect(c.body).toMatchObject({ status: 'waitlisted', waitlistPosition: 2 });
    const full = await send(stack, event.id, 'dan', 1, true);
    expect(full.body).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });
    const plain = await send(stack, event.id, 'eve', 1);
    expect(plain.status).toBe(409);
    expect(plain.body.code).toBe('SOLD_OUT');
    expect((await read(stack, c.body.requestId)).body).toMatchObject({ status: 'waitlisted', waitlistPosition: 2 });
  });

  it('gives returned seats to the list first, first fit in joining order; a long-poll sees the change', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 3, waitlistLimit: 10 });
    const a = await send(stack, event.id, 'ann', 2);
    const o = await send(stack, event.id, 'oli', 1);
    const big = await send(stack, event.id, 'big', 3, true);
    const small = await send(stack, event.id, 'sam', 1, true);
    const next = await send(stack, event.id, 'nia', 1, true);
    expect([big, small, next].map((r) => r.body.waitlistPosition)).toEqual([1, 2, 3]);
    // A long-poll started while waitlisted returns when the status changes.
    const polling = read(stack, small.body.requestId, 20);
    await sleep(200);
    expect((await cancel(stack, a.body.bookingId)).status).toBe(200);
    const promoted = await polling;
    expect(promoted.body).toMatchObject({ status: 'confirmed', bookingId: expect.any(String) });
    // 2 seats back: `big` (3) does not fit and keeps its place; `sam` and `nia` (1 each) fit.
    expect((await read(stack, next.body.requestId)).body.status).toBe('confirmed');
    expect((await read(stack, big.body.requestId)).body).toMatchObject({ status: 'waitlisted', waitlistPosition: 1 });
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available).toBe(0);
    // Then 1 more seat back: still not enough for `big`, so it goes on general sale.
    expect((await cancel(stack, o.body.bookingId)).status).toBe(200);
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available).toBe(1);
    expect((await send(stack, event.id, 'walk-in', 1)).body.status).toBe('confirmed');
    await expectEventInvariants(stack.db, event.id);
  });

  it('withdraws a waitlisted request; 409 NOT_WAITLISTED for any other; 404 for none', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1, waitlistLimit: 3 });
    const a = await send(stack, event.id, 'ann', 1);
    const w = await send(stack, event.id, 'wes', 1, true);
    const res = await withdraw(stack, w.body.requestId);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ requestId: w.body.requestId, status: 'rejected', reason: 'WITHDRAWN' });
    expect(bookingRequestView.safeParse(res.body).success).toBe(true);
    expect((await withdraw(stack, w.body.requestId)).body).toEqual(res.body);
    const other = await withdraw(stack, a.body.requestId);
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('NOT_WAITLISTED');
    expect(problemDetails.safeParse(other.body).success).toBe(true);
    expect((await withdraw(stack, `${event.id}.AAAAAAAAAAAAAAAAAAAAAA`)).status).toBe(404);
    // A withdrawn entry is not promoted.
    await cancel(stack, a.body.bookingId);
    expect((await read(stack, w.body.requestId)).body.reason).toBe('WITHDRAWN');
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available).toBe(1);
  });

  it('answers SOLD_OUT at the door once the list is full, and takes entries again when one leaves', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1, waitlistLimit: 1 });
    expect((await send(stack, event.id, 'ann', 1)).body.status).toBe('confirmed');
    const w1 = await send(stack, event.id, 'w1', 1, true);
    expect(w1.body).toMatchObject({ status: 'waitlisted', waitlistPosition: 1 });
    // The first request beyond the list's room reaches the worker, which refuses it and tells the door.
    const over = await send(stack, event.id, 'w2', 1, true);
    expect(over.body).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });
    // From then on the door refuses at once, without queuing.
    const atDoor = await send(stack, event.id, 'w3', 1, true);
    expect(atDoor.status).toBe(409);
    expect(atDoor.body.code).toBe('SOLD_OUT');
    expect(problemDetails.safeParse(atDoor.body).success).toBe(true);
    const { rows } = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM booking_requests WHERE event_id = ${event.id} AND user_id = 'w3'`.execute(stack.db);
    expect(rows[0]!.n, 'nothing was queued or recorded for the refused request').toBe(0);
    // An entry leaves: the list has room again, at the door too.
    expect((await withdraw(stack, w1.body.requestId)).status).toBe(200);
    expect((await send(stack, event.id, 'w4', 1, true)).body).toMatchObject({ status: 'waitlisted', waitlistPosition: 1 });
    await expectEventInvariants(stack.db, event.id);
  });

  it('shows places that move up at once when an entry ahead leaves the list', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1, waitlistLimit: 5 });
    await send(stack, event.id, 'ann', 1);
    const [w1, w2, w3] = [
      await send(stack, event.id, 'w1', 1, true),
      await send(stack, event.id, 'w2', 1, true),
      await send(stack, event.id, 'w3', 1, true),
    ];
    expect([w1, w2, w3].map((r) => r.body.waitlistPosition)).toEqual([1, 2, 3]);
    // Read once, so the API holds the list's places; then the first entry leaves.
    expect((await read(stack, w3.body.requestId)).body.waitlistPosition).toBe(3);
    expect((await withdraw(stack, w1.body.requestId)).status).toBe(200);
    // The places are read from a snapshot of the list that is kept for up to a second unless a
    // message says the list changed: within half of that, the new places show.
    const deadline = Date.now() + 500;
    let places: number[];
    do
      places = [(await read(stack, w2.body.requestId)).body.waitlistPosition, (await read(stack, w3.body.requestId)).body.waitlistPosition];
    while ((places[0] !== 1 || places[1] !== 2) && Date.now() < deadline);
    expect(places).toEqual([1, 2]);
  });

  it('skips an entry whose user would exceed maxPerUser; it keeps its place', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 4, maxPerUser: 2, waitlistLimit: 5 });
    const ann = await send(stack, event.id, 'ann', 2);
    const bob = await send(stack, event.id, 'bob', 2);
    const carl2 = await send(stack, event.id, 'carl', 2, true);
    const carl1 = await send(stack, event.id, 'carl', 1, true);
    const dan = await send(stack, event.id, 'dan', 1, true);
    expect([carl2, carl1, dan].map((r) => r.body.status)).toEqual(['waitlisted', 'waitlisted', 'waitlisted']);
    await cancel(stack, ann.body.bookingId);
    expect((await read(stack, carl2.body.requestId)).body.status).toBe('confirmed');
    await cancel(stack, bob.body.bookingId);
    expect((await read(stack, carl1.body.requestId)).body).toMatchObject({ status: 'waitlisted', waitlistPosition: 1 });
    expect((await read(stack, dan.body.requestId)).body.status).toBe('confirmed');
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available).toBe(1);
    await expectEventInvariants(stack.db, event.id);
  });

  it('an expired hold feeds the list a held booking; a user at maxPerUser is not waitlisted', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2, maxPerUser: 2, holdSeconds: 600, waitlistLimit: 5 });
    const a = await send(stack, event.id, 'ann', 2);
    const mine = await send(stack, event.id, 'ann', 1, true);
    // The per-user limit comes first: the list is for requests refused only for want of seats.
    expect(mine.body).toMatchObject({ status: 'rejected', reason: 'USER_LIMIT_EXCEEDED' });
    const w = await send(stack, event.id, 'wes', 2, true);
    expect(w.body.status).toBe('waitlisted');
    await sql`UPDATE bookings SET expires_at = clock_timestamp() WHERE id = ${a.body.bookingId}`.execute(stack.db);
    const promoted = await read(stack, w.body.requestId, 20);
    expect(promoted.body.status).toBe('confirmed');
    const booking = await request(stack.baseUrl, 'GET', `/v1/bookings/${promoted.body.bookingId}`);
    expect(booking.body).toMatchObject({ status: 'held', quantity: 2, expiresAt: expect.any(String) });
    await expectEventInvariants(stack.db, event.id);
  });

  it('rejects waitlisted requests with SALES_CLOSED when sales close', async () => {
    const event = await createEvent(stack.baseUrl, {
      capacity: 1,
      waitlistLimit: 5,
      salesEndAt: new Date(Date.now() + 2_500).toISOString(),
    });
    await send(stack, event.id, 'ann', 1);
    const w = await send(stack, event.id, 'wes', 1, true);
    expect(w.body.status).toBe('waitlisted');
    const closed = await read(stack, w.body.requestId, 15);
    expect(closed.body).toMatchObject({ status: 'rejected', reason: 'SALES_CLOSED' });
  });

  it('an event without waitlistLimit answers SOLD_OUT as before', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1 });
    await send(stack, event.id, 'ann', 1);
    const res = await send(stack, event.id, 'wes', 1, true);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('SOLD_OUT');
  });
});
