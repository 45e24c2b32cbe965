import { createEvent, expectEventInvariants, request, seededRandom } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('waiting list under concurrent cancellations', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('a list of 500 under 200 concurrent cancellations: promotions in order, first fit, exact', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 200, waitlistLimit: 500 });
    const sold = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        request(stack.baseUrl, 'POST', `/v1/events/${event.id}/bookings`, {
          json: { userId: `s${i}`, quantity: 1 },
          headers: { prefer: 'wait=20' },
        }),
      ),
    );
    expect(sold.every((r) => r.body.status === 'confirmed')).toBe(true);
    // The list: 500 requests in waves of 100 at once; their joining order is what PostgreSQL recorded.
    const rnd = seededRandom(500);
    for (let i = 0; i < 500; i += 100) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          request(stack.baseUrl, 'POST', `/v1/events/${event.id}/bookings`, {
            json: { userId: `w${i + j}`, quantity: 1 + Math.floor(rnd() * 3), waitlist: true },
            headers: { prefer: 'wait=20' },
          }),
        ),
      );
      expect(answers.every((a) => a.body.status === 'waitlisted')).toBe(true);
    }
    const { rows: list } = await sql<{ requestId: string; quantity: number }>`
      SELECT id AS "requestId", quantity FROM booking_requests
       WHERE event_id = ${event.id} AND status = 'waitlisted' ORDER BY waitlisted_at, id`.execute(stack.db);
    expect(list).toHaveLength(500);
    // 200 cancellations of one seat each, all at once.
    const cancelled = await Promise.all(sold.map((r) => request(stack.baseUrl, 'POST', `/v1/bookings/${r.body.bookingId}/cancel`)));
    expect(cancelled.every((r) => r.status === 200)).toBe(true);

    // The rule, replayed: one seat comes back at a time; each time, first fit in joining order.
    let free = 0;
    const expected = new Set<string>();
    for (let c = 0; c < 200; c++) {
      free++;
      for (const e of list) {
        if (free === 0) break;
        if (!expected.has(e.requestId) && e.quantity <= free) {
          expected.add(e.requestId);
          free -= e.quantity;
        }
      }
    }
    const { rows } = await sql<{ id: string; status: string }>`
      SELECT id, status FROM booking_requests WHERE id = ANY (${list.map((e) => e.requestId)}::text[])`.execute(stack.db);
    const promoted = new Set(rows.filter((r) => r.status === 'confirmed').map((r) => r.id));
    expect([...promoted].sort()).toEqual([...expected].sort());
    expect(rows.filter((r) => r.status === 'waitlisted')).toHaveLength(500 - expected.size);
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available).toBe(free);
    // Places on the list are still 1..n in joining order.
    const left = list.filter((e) => !expected.has(e.requestId));
    const first = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${left[0]!.requestId}`);
    const last = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${left.at(-1)!.requestId}`);
    expect([first.body.waitlistPosition, last.body.waitlistPosition]).toEqual([1, left.length]);
    await expectEventInvariants(stack.db, event.id);
  });
});
