import { awaitDecision, createEvent, expectEventInvariants, request, submit } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type Expected = { status: 'confirmed' } | { status: 'rejected'; reason: 'SOLD_OUT' };

/** What deciding `quantities` one at a time, in this order, against `capacity` seats must give. */
function simulate(capacity: number, quantities: number[]): Expected[] {
  let available = capacity;
  return quantities.map((q) => {
    if (q > available) return { status: 'rejected', reason: 'SOLD_OUT' };
    available -= q;
    return { status: 'confirmed' };
  });
}

// Chosen so that any reordering changes some decision: rejections (6, 4, 3, 1) sit between
// confirmations, and smaller requests behind a rejected larger one still fit.
const CAPACITY = 20;
const QUANTITIES = [3, 4, 5, 2, 1, 2, 6, 4, 1, 3, 2, 1, 2, 1];

/** Submits QUANTITIES one after another (each 202 awaited); returns the request ids (undefined: refused at once). */
async function submitInOrder(stack: Stack, eventId: string, expected: Expected[]): Promise<(string | undefined)[]> {
  const requestIds: (string | undefined)[] = [];
  for (const [i, quantity] of QUANTITIES.entries()) {
    const res = await submit(stack.baseUrl, eventId, `order-user-${i}`, quantity);
    if (res.status === 409 && res.body.code === 'SOLD_OUT') {
      // A final answer at the door is allowed, but only when the sequential decision is SOLD_OUT too.
      expect(expected[i], `request #${i} (quantity ${quantity}) refused at submission`).toEqual({
        status: 'rejected',
        reason: 'SOLD_OUT',
      });
      requestIds.push(undefined);
      continue;
    }
    expect(res.status, `submission #${i}`).toBe(202);
    requestIds.push(res.body.requestId as string);
  }
  return requestIds;
}

/** Waits for every decision and compares it, and its decidedAt, with the sequential simulation. */
async function expectSequentialDecisions(
  stack: Stack,
  eventId: string,
  requestIds: (string | undefined)[],
  expected: Expected[],
): Promise<void> {
  const decided = await Promise.all(
    requestIds.map((id) => (id === undefined ? Promise.resolve(undefined) : awaitDecision(stack.baseUrl, id))),
  );
  const actual = decided.map((d) =>
    d === undefined
      ? { status: 'rejected', reason: 'SOLD_OUT' }
      : d.status === 'confirmed'
        ? { status: 'confirmed' }
        : { status: d.status, reason: d.reason },
  );
  expect(actual).toEqual(expected);

  // decidedAt never goes backwards in submission order.
  const times = decided.filter((d) => d !== undefined).map((d) => Date.parse(d.decidedAt));
  expect(times.every((t) => Number.isFinite(t))).toBe(true);
  for (let i = 1; i < times.length; i++) {
    expect(times[i], `decidedAt of decided request #${i} before its predecessor`).toBeGreaterThanOrEqual(times[i - 1]!);
  }

  const seatsTaken = QUANTITIES.filter((_, i) => expected[i]!.status === 'confirmed').reduce((a, b) => a + b, 0);
  const after = (await request(stack.baseUrl, 'GET', `/v1/events/${eventId}`)).body;
  expect(after.available).toBe(CAPACITY - seatsTaken);
  await expectEventInvariants(stack.db, eventId);
}

describe('requests sent one after another for a scarce event', () => {
  const expected = simulate(CAPACITY, QUANTITIES);

  it('make a scenario in which any reordering changes a decision', () => {
    expect(expected.filter((e) => e.status === 'rejected').length).toBeGreaterThanOrEqual(4);
    expect(simulate(CAPACITY, [...QUANTITIES].reverse()).reverse()).not.toEqual(expected);
  });

  describe('while a worker is running', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack();
    });
    afterAll(async () => {
      await stack.close();
    });

    it('are decided in the order they were accepted', async () => {
      const event = await createEvent(stack.baseUrl, { capacity: CAPACITY });
      const requestIds = await submitInOrder(stack, event.id, expected);
      await expectSequentialDecisions(stack, event.id, requestIds, expected);
    });
  });

  describe('queued before any worker runs', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ workers: 0 });
    });
    afterAll(async () => {
      await stack.close();
    });

    it('are decided in the order they were accepted once a worker drains the backlog', async () => {
      const event = await createEvent(stack.baseUrl, { capacity: CAPACITY });
      const requestIds = await submitInOrder(stack, event.id, expected);
      await stack.startWorker();
      await expectSequentialDecisions(stack, event.id, requestIds, expected);
    });
  });
});
