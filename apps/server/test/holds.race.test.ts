import { setTimeout as sleep } from 'node:timers/promises';

import { awaitDecision, createEvent, expectEventInvariants, request, submit } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Submits one request per user and waits for every decision; returns the decided views. */
async function bookAll(stack: Stack, eventId: string, users: string[]): Promise<any[]> {
  const answers = await Promise.all(users.map((u) => submit(stack.baseUrl, eventId, u, 1)));
  return Promise.all(
    answers.map((a) =>
      a.status === 202
        ? awaitDecision(stack.baseUrl, a.body.requestId as string)
        : Promise.resolve({ status: 'rejected', reason: a.body.code }),
    ),
  );
}

/** Waits until the event has no held booking left (or `ms` pass). */
async function untilNoneHeld(stack: Stack, eventId: string, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM bookings WHERE event_id = ${eventId} AND status = 'held'`.execute(stack.db);
    if (rows[0]!.n === 0 || Date.now() > deadline) return rows[0]!.n;
    await sleep(100);
  }
}

function counter(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

describe('holds under concurrency', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('confirm racing expiry at the boundary: exactly one of them happens, 3 x 100 times', async () => {
    const metricsBefore = await fetch(`${stack.baseUrl}/metrics`).then((r) => r.text());
    let confirmed = 0;
    let expired = 0;
    for (let round = 0; round < 3; round++) {
      const event = await createEvent(stack.baseUrl, { capacity: 100, holdSeconds: 600 });
      const decided = await bookAll(
        stack,
        event.id,
        Array.from({ length: 100 }, (_, i) => `r${round}-u${i}`),
      );
      expect(decided.every((d) => d.status === 'confirmed')).toBe(true);
      // Every hold falls due at the same instant T, a second from now; the confirms are sent from
      // 500 ms before T to 300 ms after it, so that some are applied before T and some after.
      const { rows } = await sql<{ t: number }>`
        UPDATE bookings SET expires_at = clock_timestamp() + interval '1 second'
         WHERE event_id = ${event.id} RETURNING (extract(epoch FROM expires_at) * 1000)::float8 AS t`.execute(stack.db);
      const due = rows[0]!.t;
      const answers = await Promise.all(
        decided.map(async (d, i) => {
          await sleep(Math.max(0, due - 500 + i * 8 - Date.now()));
          return { bookingId: d.bookingId as string, res: await request(stack.baseUrl, 'POST', `/v1/bookings/${d.bookingId}/confirm`) };
        }),
      );
      expect(await untilNoneHeld(stack, event.id, 10_000)).toBe(0);
      const { rows: bookings } = await sql<{
        id: string;
        status: string;
        confirmed_before_due: boolean | null;
        expired_after_due: boolean | null;
      }>`
        SELECT id, status, confirmed_at < expires_at AS confirmed_before_due, expired_at >= expires_at AS expired_after_due
          FROM bookings WHERE event_id = ${event.id}`.execute(stack.db);
      const byId = new Map(bookings.map((b) => [b.id, b]));
      for (const { bookingId, res } of answers) {
        const b = byId.get(bookingId)!;
        if (res.status === 200) {
          confirmed++;
          expect(res.body.status).toBe('confirmed');
          expect(b).toMatchObject({ status: 'confirmed', confirmed_before_due: true, expired_after_due: null });
        } else {
          expired++;
          expect(res.status).toBe(409);
          expect(res.body.code).toBe('HOLD_EXPIRED');
          expect(b).toMatchObject({ status: 'expired', confirmed_before_due: null, expired_after_due: true });
        }
      }
      const left = (await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available;
      expect(left).toBe(bookings.filter((b) => b.status === 'expired').length);
      await expectEventInvariants(stack.db, event.id);
    }
    // Both outcomes happened: the races were at the boundary.
    expect(confirmed).toBeGreaterThan(0);
    expect(expired).toBeGreaterThan(0);
    const metricsAfter = await fetch(`${stack.baseUrl}/metrics`).then((r) => r.text());
    const delta = (name: string) => counter(metricsAfter, name) - counter(metricsBefore, name);
    expect(delta('booking_holds_confirmed_total')).toBe(confirmed);
    expect(delta('booking_holds_expired_total')).toBe(expired);
  });

  it('1,000 holds expiring while 1,000 new requests arrive: seats exact, none given twice', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 1_000, holdSeconds: 600 });
    const first = await bookAll(
      stack,
      event.id,
      Array.from({ length: 1_000 }, (_, i) => `old-${i}`),
    );
    expect(first.every((d) => d.status === 'confirmed')).toBe(true);
    // The holds fall due over two seconds, oldest first, while new requests arrive for three.
    await sql`
      UPDATE bookings b SET expires_at = clock_timestamp() + interval '300 milliseconds' + (s.n % 10) * interval '200 milliseconds'
        FROM (SELECT id, row_number() OVER (ORDER BY created_at) AS n FROM bookings WHERE event_id = ${event.id}) s
       WHERE b.id = s.id`.execute(stack.db);
    const waves: Array<Promise<any[]>> = [];
    for (let w = 0; w < 10; w++) {
      waves.push(
        bookAll(
          stack,
          event.id,
          Array.from({ length: 100 }, (_, i) => `new-${w}-${i}`),
        ),
      );
      await sleep(300);
    }
    const during = (await Promise.all(waves)).flat();
    expect(await untilOldExpired(stack, event.id)).toBe(1_000);
    // Then more than enough requests for what is left: the event ends exactly sold out.
    const after = await bookAll(
      stack,
      event.id,
      Array.from({ length: 1_100 }, (_, i) => `last-${i}`),
    );

    const taken = [...during, ...after].filter((d) => d.status === 'confirmed').length;
    expect(taken).toBe(1_000);
    const { rows } = await sql<{ held: number; expired: number; users: number }>`
      SELECT count(*) FILTER (WHERE status = 'held')::int AS held,
             count(*) FILTER (WHERE status = 'expired')::int AS expired,
             count(DISTINCT user_id) FILTER (WHERE status = 'held')::int AS users
        FROM bookings WHERE event_id = ${event.id}`.execute(stack.db);
    expect(rows[0]).toEqual({ held: 1_000, expired: 1_000, users: 1_000 });
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available).toBe(0);
    await expectEventInvariants(stack.db, event.id);
  });
});

/** Waits until every hold of the first sale (users `old-*`) has expired; returns how many did. */
async function untilOldExpired(stack: Stack, eventId: string): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { rows } = await sql<{ expired: number; held: number }>`
      SELECT count(*) FILTER (WHERE status = 'expired')::int AS expired, count(*) FILTER (WHERE status = 'held')::int AS held
        FROM bookings WHERE event_id = ${eventId} AND user_id LIKE 'old-%'`.execute(stack.db);
    if (rows[0]!.held === 0 || Date.now() > deadline) return rows[0]!.expired;
    await sleep(100);
  }
}
