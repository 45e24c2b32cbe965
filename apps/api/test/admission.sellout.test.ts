import { awaitDecision, createEvent, expectDecisionsJustified, expectEventInvariants, type JsonResponse } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const USERS = 600;
const PER_USER = 5;
const SEATS = 500;
const MAX_PER_USER = 4;

interface Sent {
  userId: string;
  quantity: number;
  res: JsonResponse;
  /** Client clock (the server's clock too: same process) when the answer's headers arrived. */
  answeredAt: number;
}

/** 3,000 submissions of 1..4 seats from 600 users (5 each, interleaved), all fired at once. */
async function flashSale(stack: Stack, eventId: string): Promise<Sent[]> {
  const plan = Array.from({ length: USERS * PER_USER }, (_, i) => ({
    userId: `sale-user-${i % USERS}`,
    // A fixed spread of 1..4 that differs between one user's requests.
    quantity: ((i * 7 + Math.floor(i / USERS)) % 4) + 1,
  }));
  return Promise.all(
    plan.map(async ({ userId, quantity }) => {
      const response = await fetch(`${stack.baseUrl}/v1/events/${eventId}/bookings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId, quantity }),
      });
      // Taken when the headers arrive, so after the server answered: T can only be late, which
      // keeps the false sold-out check sound.
      const answeredAt = Date.now();
      const text = await response.text();
      const res: JsonResponse = { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
      return { userId, quantity, res, answeredAt };
    }),
  );
}

describe('3,000 concurrent submissions of 1..4 seats from 600 users for 500 seats (maxPerUser 4)', () => {
  let stack: Stack;
  let eventId: string;
  let sent: Sent[];
  let accepted: Sent[];
  let soldOutAtGate: Sent[];

  let decisions: any[];

  beforeAll(async () => {
    stack = await startStack();
    eventId = (await createEvent(stack.baseUrl, { capacity: SEATS, maxPerUser: MAX_PER_USER })).id;
    sent = await flashSale(stack, eventId);
    accepted = sent.filter((s) => s.res.status === 202);
    soldOutAtGate = sent.filter((s) => s.res.status === 409 && s.res.body?.code === 'SOLD_OUT');
    decisions = await Promise.all(accepted.map((s) => awaitDecision(stack.baseUrl, s.res.body.requestId as string, 120)));
  }, 300_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('answers every submission with 202 or 409 SOLD_OUT', () => {
    const other = sent.filter((s) => s.res.status !== 202 && !(s.res.status === 409 && s.res.body?.code === 'SOLD_OUT'));
    expect(other.map((s) => `${s.res.status} ${JSON.stringify(s.res.body)}`)).toEqual([]);
  });

  it('decides every request that got a 202', () => {
    expect(decisions.filter((d) => d.status === 'pending').map((d) => d.requestId)).toEqual([]);
    expect(decisions.map((d) => d.requestId).sort()).toEqual(accepted.map((s) => s.res.body.requestId).sort());
  });

  it('sells exactly the 500 seats, since demand exceeds supply', async () => {
    const { rows } = await sql<{ sold: number }>`
      SELECT coalesce(sum(quantity), 0)::int AS sold FROM bookings WHERE event_id = ${eventId} AND status = 'confirmed'
    `.execute(stack.db);
    expect(rows[0]!.sold).toBe(SEATS);
  });

  it('confirms no user more than 4 seats', async () => {
    const { rows } = await sql<{ user_id: string; seats: number }>`
      SELECT user_id, sum(quantity)::int AS seats FROM bookings
       WHERE event_id = ${eventId} AND status = 'confirmed' GROUP BY user_id HAVING sum(quantity) > ${MAX_PER_USER}
    `.execute(stack.db);
    expect(rows).toEqual([]);
  });

  it('justifies every decision the worker made by the seats left at that moment', async () => {
    await expectDecisionsJustified(stack.db, eventId);
  });

  it('keeps the event invariants', async () => {
    await expectEventInvariants(stack.db, eventId);
  });

  it('answers no false sold-out at the gate: nothing as large accepted later is confirmed', () => {
    const confirmed = decisions
      .filter((d) => d.status === 'confirmed')
      .map((d) => ({ requestId: d.requestId as string, quantity: d.quantity as number, acceptedAt: Date.parse(d.acceptedAt) }));
    const contradictions: string[] = [];
    for (const s of soldOutAtGate) {
      for (const c of confirmed) {
        if (c.quantity >= s.quantity && c.acceptedAt > s.answeredAt) {
          contradictions.push(
            `409 SOLD_OUT for ${s.quantity} answered at ${s.answeredAt}, yet ${c.requestId} for ${c.quantity} accepted at ${c.acceptedAt} was confirmed`,
          );
        }
      }
    }
    expect(contradictions.slice(0, 10)).toEqual([]);
  });

  it('turns most requests away at the gate (over half answered 409 SOLD_OUT at once)', () => {
    expect(soldOutAtGate.length / sent.length).toBeGreaterThan(0.5);
  });
});
