import { setTimeout as sleep } from 'node:timers/promises';

import { bookingView, eventView, problemDetails } from '@booking/domain';
import { confirmJobId, createRedis, eventQueueName } from '@booking/queue';
import { awaitDecision, createEvent, expectEventInvariants, request, submit, TEST_REDIS_URL } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Submits and waits for the decision. */
async function book(stack: Stack, eventId: string, userId: string, quantity: number): Promise<any> {
  const res = await submit(stack.baseUrl, eventId, userId, quantity);
  if (res.status === 409) return { status: 'rejected', reason: res.body.code };
  expect(res.status).toBe(202);
  return awaitDecision(stack.baseUrl, res.body.requestId as string);
}

const confirm = (stack: Stack, bookingId: string) => request(stack.baseUrl, 'POST', `/v1/bookings/${bookingId}/confirm`);
const getBooking = (stack: Stack, bookingId: string) => request(stack.baseUrl, 'GET', `/v1/bookings/${bookingId}`);
const available = async (stack: Stack, eventId: string) =>
  (await request(stack.baseUrl, 'GET', `/v1/events/${eventId}`)).body.available as number;

/** Polls the booking until `check` holds or `ms` pass; returns the last answer. */
async function until(stack: Stack, bookingId: string, check: (b: any) => boolean, ms: number): Promise<any> {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await getBooking(stack, bookingId);
    if (check(res.body) || Date.now() > deadline) return res.body;
    await sleep(100);
  }
}

describe('holds and checkout', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('creates an event with holdSeconds and shows it', async () => {
    const created = await request(stack.baseUrl, 'POST', '/v1/events', {
      admin: true,
      json: { name: 'Held', capacity: 3, holdSeconds: 900 },
    });
    expect(created.status).toBe(201);
    expect(created.body.holdSeconds).toBe(900);
    expect(eventView.safeParse(created.body).success).toBe(true);
    const read = await request(stack.baseUrl, 'GET', `/v1/events/${created.body.id}`);
    expect(read.body.holdSeconds).toBe(900);
  });

  it.each([4, 604_801, 1.5, '60'])('refuses holdSeconds %j with 400 VALIDATION_FAILED', async (holdSeconds) => {
    const res = await request(stack.baseUrl, 'POST', '/v1/events', { admin: true, json: { name: 'Bad', capacity: 3, holdSeconds } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('holdSeconds');
  });

  it('an event without holdSeconds confirms bookings at once, with no expiresAt', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2 });
    expect(event).not.toHaveProperty('holdSeconds');
    const decided = await book(stack, event.id, 'plain', 1);
    const booking = (await getBooking(stack, decided.bookingId)).body;
    expect(booking.status).toBe('confirmed');
    expect(booking).not.toHaveProperty('expiresAt');
  });

  it('holds the seats until checkout, confirms once, and confirming again changes nothing', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 3, holdSeconds: 600 });
    const decided = await book(stack, event.id, 'buyer', 2);
    expect(decided.status).toBe('confirmed');
    const held = (await getBooking(stack, decided.bookingId)).body;
    expect(held.status).toBe('held');
    expect(bookingView.safeParse(held).success).toBe(true);
    expect(Date.parse(held.expiresAt) - Date.parse(decided.decidedAt)).toBe(600_000);
    expect(await available(stack, event.id)).toBe(1);

    const first = await confirm(stack, decided.bookingId);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: decided.bookingId, status: 'confirmed', quantity: 2, expiresAt: held.expiresAt });
    expect(bookingView.safeParse(first.body).success).toBe(true);
    const again = await confirm(stack, decided.bookingId);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await available(stack, event.id)).toBe(1);
    await expectEventInvariants(stack.db, event.id);
  });

  it('expires an unconfirmed hold and returns its seats; the door takes new requests for them', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1, holdSeconds: 5 });
    const decided = await book(stack, event.id, 'abandoner', 1);
    const held = (await getBooking(stack, decided.bookingId)).body;
    expect(held.status).toBe('held');
    // Sold out while held: a final answer at the door.
    const door = await submit(stack.baseUrl, event.id, 'late', 1);
    expect(door.status).toBe(409);
    expect(door.body.code).toBe('SOLD_OUT');

    // The contract says within 2 s of expiresAt; 6 s of slack on a loaded test machine.
    const expired = await until(stack, decided.bookingId, (b) => b.status === 'expired', Date.parse(held.expiresAt) - Date.now() + 6_000);
    expect(expired.status).toBe('expired');
    const { rows } = await sql<{ late_ms: number }>`
      SELECT (extract(epoch FROM expired_at - expires_at) * 1000)::int AS late_ms FROM bookings WHERE id = ${decided.bookingId}`.execute(
      stack.db,
    );
    expect(rows[0]!.late_ms).toBeGreaterThanOrEqual(0);
    expect(rows[0]!.late_ms).toBeLessThan(6_000);
    expect(await available(stack, event.id)).toBe(1);

    const late = await confirm(stack, decided.bookingId);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('HOLD_EXPIRED');
    expect(problemDetails.safeParse(late.body).success).toBe(true);

    // The seat is back at the door at once: no false sold-out.
    const next = await book(stack, event.id, 'next', 1);
    expect(next.status).toBe('confirmed');
    await expectEventInvariants(stack.db, event.id);
  });

  it('a confirm arriving after expiresAt, before the expiry ran, fails and returns the seats', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2, holdSeconds: 600 });
    const decided = await book(stack, event.id, 'slow-payer', 2);
    // Due a moment ago; the confirm and the expiry are then decided in the event's queue.
    await sql`UPDATE bookings SET expires_at = clock_timestamp() WHERE id = ${decided.bookingId}`.execute(stack.db);
    const res = await confirm(stack, decided.bookingId);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('HOLD_EXPIRED');
    expect((await getBooking(stack, decided.bookingId)).body.status).toBe('expired');
    expect(await available(stack, event.id)).toBe(2);
    expect((await book(stack, event.id, 'after', 2)).status).toBe('confirmed');
    await expectEventInvariants(stack.db, event.id);
  });

  it('cancelling a held booking returns its seats; confirming it then is 409 BOOKING_CANCELLED', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2, holdSeconds: 600 });
    const decided = await book(stack, event.id, 'changed-mind', 2);
    const cancelled = await request(stack.baseUrl, 'POST', `/v1/bookings/${decided.bookingId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(await available(stack, event.id)).toBe(2);
    const res = await confirm(stack, decided.bookingId);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('BOOKING_CANCELLED');
    expect(problemDetails.safeParse(res.body).success).toBe(true);
    expect((await book(stack, event.id, 'taker', 2)).status).toBe('confirmed');
    await expectEventInvariants(stack.db, event.id);
  });

  it('confirming an unknown booking is 404 BOOKING_NOT_FOUND', async () => {
    const res = await confirm(stack, 'no-such-booking');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('BOOKING_NOT_FOUND');
  });

  it('held seats count towards maxPerUser', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10, maxPerUser: 2, holdSeconds: 600 });
    expect((await book(stack, event.id, 'greedy', 2)).status).toBe('confirmed');
    const more = await book(stack, event.id, 'greedy', 1);
    expect(more).toMatchObject({ status: 'rejected', reason: 'USER_LIMIT_EXCEEDED' });
  });

  it('the schema refuses a status change outside held -> confirmed | expired | cancelled, confirmed -> cancelled', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2, holdSeconds: 600 });
    const decided = await book(stack, event.id, 'schema', 1);
    expect((await confirm(stack, decided.bookingId)).status).toBe(200);
    await expect(sql`UPDATE bookings SET status = 'held' WHERE id = ${decided.bookingId}`.execute(stack.db)).rejects.toThrow(
      /may not go from confirmed to held/,
    );
    await expect(sql`UPDATE bookings SET status = 'expired' WHERE id = ${decided.bookingId}`.execute(stack.db)).rejects.toThrow(
      /may not go from confirmed to expired/,
    );
  });

  it('the schema refuses held and confirmed seats beyond capacity', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1, holdSeconds: 600 });
    const decided = await book(stack, event.id, 'first', 1);
    const { rows } = await sql<{ request_id: string }>`SELECT request_id FROM bookings WHERE id = ${decided.bookingId}`.execute(stack.db);
    // A second booking for the same seat, written past the decision function: the schema says no.
    await expect(
      sql`
        WITH r AS (
          INSERT INTO booking_requests (id, event_id, user_id, quantity, status, accepted_at)
          VALUES (${`${rows[0]!.request_id}-copy`}, ${event.id}, 'intruder', 1, 'confirmed', now()) RETURNING id)
        INSERT INTO bookings (id, request_id, event_id, user_id, quantity, status, expires_at)
        SELECT 'intruder-booking', r.id, ${event.id}, 'intruder', 1, 'held', now() + interval '1 hour' FROM r`.execute(stack.db),
    ).rejects.toThrow(/events_seats_taken_in_range/);
    await expectEventInvariants(stack.db, event.id);
  });
});

describe('checkouts behind a backlog of admissions', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ cancelWaitMs: 20_000 });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('are applied before the bookings queued ahead of them, together in one transaction', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 40, holdSeconds: 600 });
    const held = await Promise.all(Array.from({ length: 5 }, (_, i) => book(stack, event.id, `payer-${i}`, 1)));
    expect(held.map((d) => d.status)).toEqual(Array(5).fill('confirmed'));
    // No worker for a moment: admissions and then checkouts pile up in the event's queue.
    await stack.workers.splice(0, 1)[0]!.close();
    const backlog = await Promise.all(Array.from({ length: 30 }, (_, i) => submit(stack.baseUrl, event.id, `later-${i}`, 1)));
    expect(backlog.map((r) => r.status)).toEqual(Array(30).fill(202));
    const checkouts = Promise.all(held.map((d) => confirm(stack, d.bookingId)));
    const connection = createRedis({ url: TEST_REDIS_URL, cluster: false }, 'worker');
    const queue = new Queue(eventQueueName(event.id), { connection, prefix: stack.prefix });
    try {
      // Every checkout is queued (behind the 30 admissions, by the time they were sent).
      for (const d of held) {
        while (!(await queue.getJob(confirmJobId(d.bookingId)))) await sleep(20);
      }
    } finally {
      await queue.close();
      await connection.quit();
    }
    await stack.startWorker();
    const answers = await checkouts;
    expect(answers.map((r) => [r.status, r.body.status])).toEqual(Array(5).fill([200, 'confirmed']));

    const ids = held.map((d) => d.bookingId as string);
    const { rows: confirmed } = await sql<{ xmin: string; confirmed_at: Date }>`
      SELECT xmin::text, confirmed_at FROM bookings WHERE id = ANY (${ids}::text[])`.execute(stack.db);
    expect(new Set(confirmed.map((r) => r.xmin)).size, 'one transaction applied the five checkouts').toBe(1);
    const decided = await Promise.all(backlog.map((r) => awaitDecision(stack.baseUrl, r.body.requestId as string)));
    const { rows: first } = await sql<{ at: Date }>`
      SELECT min(decided_at) AS at FROM booking_requests WHERE id = ANY (${decided.map((d) => d.requestId as string)}::text[])`.execute(
      stack.db,
    );
    const lastCheckout = Math.max(...confirmed.map((r) => r.confirmed_at.getTime()));
    expect(lastCheckout, 'the checkouts went ahead of the admissions queued before them').toBeLessThan(first[0]!.at.getTime());
    await expectEventInvariants(stack.db, event.id);
  });
});
