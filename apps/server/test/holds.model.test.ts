import { setTimeout as sleep } from 'node:timers/promises';

import { createEvent, expectEventInvariants, request, seededRandom } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Random sequences of book, confirm, cancel and "the hold's time has come", run against the service
// over HTTP and against a small in-memory model of the rules; after every step the answer, the seats
// available and (at the end) every booking's status must be the model's. Seeded, so a failure can be
// replayed: the seed is in the test's name.

type Status = 'held' | 'confirmed' | 'cancelled' | 'expired';

/** The rules, as plainly as they can be said. */
class Model {
  available: number;
  readonly seats = new Map<string, number>();
  readonly bookings = new Map<string, { user: string; quantity: number; status: Status }>();
  constructor(
    capacity: number,
    private readonly maxPerUser: number | undefined,
  ) {
    this.available = capacity;
  }

  book(user: string, quantity: number): 'confirmed' | 'USER_LIMIT_EXCEEDED' | 'SOLD_OUT' {
    const mine = this.seats.get(user) ?? 0;
    if (this.maxPerUser !== undefined && mine + quantity > this.maxPerUser) return 'USER_LIMIT_EXCEEDED';
    if (this.available < quantity) return 'SOLD_OUT';
    return 'confirmed';
  }

  taken(bookingId: string, user: string, quantity: number): void {
    this.available -= quantity;
    this.seats.set(user, (this.seats.get(user) ?? 0) + quantity);
    this.bookings.set(bookingId, { user, quantity, status: 'held' });
  }

  private giveBack(b: { user: string; quantity: number }): void {
    this.available += b.quantity;
    this.seats.set(b.user, this.seats.get(b.user)! - b.quantity);
  }

  confirm(id: string): { status: number; code?: string } {
    const b = this.bookings.get(id)!;
    if (b.status === 'held') b.status = 'confirmed';
    if (b.status === 'confirmed') return { status: 200 };
    return { status: 409, code: b.status === 'expired' ? 'HOLD_EXPIRED' : 'BOOKING_CANCELLED' };
  }

  cancel(id: string): Status {
    const b = this.bookings.get(id)!;
    if (b.status === 'held' || b.status === 'confirmed') {
      b.status = 'cancelled';
      this.giveBack(b);
    }
    return b.status;
  }

  due(id: string): void {
    const b = this.bookings.get(id)!;
    if (b.status !== 'held') return;
    b.status = 'expired';
    this.giveBack(b);
  }
}

const RUNS = 20;
const STEPS = 12;
const BASE_SEED = 12_000;

describe('holds against a model of the rules', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it.each(Array.from({ length: RUNS }, (_, i) => BASE_SEED + i))('random sequence with seed %i', async (seed) => {
    const rnd = seededRandom(seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const capacity = 3 + Math.floor(rnd() * 5);
    const maxPerUser = rnd() < 0.5 ? 3 : undefined;
    const event = await createEvent(stack.baseUrl, { capacity, holdSeconds: 600, ...(maxPerUser ? { maxPerUser } : {}) });
    const model = new Model(capacity, maxPerUser);
    const log: string[] = [];

    for (let step = 0; step < STEPS; step++) {
      const ids = [...model.bookings.keys()];
      const held = ids.filter((id) => model.bookings.get(id)!.status === 'held');
      const r = rnd();
      if (ids.length === 0 || r < 0.45) {
        const user = pick(['ann', 'ben', 'cem']);
        const quantity = 1 + Math.floor(rnd() * 3);
        log.push(`book ${user} ${quantity}`);
        const expected = model.book(user, quantity);
        const res = await request(stack.baseUrl, 'POST', `/v1/events/${event.id}/bookings`, {
          json: { userId: user, quantity },
          headers: { prefer: 'wait=20' },
        });
        const outcome = res.status === 409 ? res.body.code : res.body.status === 'confirmed' ? 'confirmed' : res.body.reason;
        expect(outcome, log.join(', ')).toBe(expected);
        if (expected === 'confirmed') model.taken(res.body.bookingId as string, user, quantity);
      } else if (r < 0.65) {
        const id = pick(ids);
        log.push(`confirm ${model.bookings.get(id)!.status}`);
        const expected = model.confirm(id);
        const res = await request(stack.baseUrl, 'POST', `/v1/bookings/${id}/confirm`);
        expect({ status: res.status, ...(res.status === 409 ? { code: res.body.code } : {}) }, log.join(', ')).toEqual(expected);
      } else if (r < 0.8 || held.length === 0) {
        const id = pick(ids);
        log.push(`cancel ${model.bookings.get(id)!.status}`);
        const expected = model.cancel(id);
        const res = await request(stack.baseUrl, 'POST', `/v1/bookings/${id}/cancel`);
        expect(res.status, log.join(', ')).toBe(200);
        expect(res.body.status, log.join(', ')).toBe(expected);
      } else {
        // The hold's time comes: its expiry is due now, and a worker must expire it by itself.
        const id = pick(held);
        log.push('due');
        model.due(id);
        await sql`UPDATE bookings SET expires_at = clock_timestamp() WHERE id = ${id}`.execute(stack.db);
        const deadline = Date.now() + 8_000;
        while ((await request(stack.baseUrl, 'GET', `/v1/bookings/${id}`)).body.status === 'held' && Date.now() < deadline)
          await sleep(100);
      }
      const available = (await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available;
      expect(available, log.join(', ')).toBe(model.available);
    }

    const { rows } = await sql<{ id: string; status: Status }>`SELECT id, status FROM bookings WHERE event_id = ${event.id}`.execute(
      stack.db,
    );
    expect(Object.fromEntries(rows.map((b) => [b.id, b.status])), log.join(', ')).toEqual(
      Object.fromEntries([...model.bookings].map(([id, b]) => [id, b.status])),
    );
    await expectEventInvariants(stack.db, event.id);
  });
});
