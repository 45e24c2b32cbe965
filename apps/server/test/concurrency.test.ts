import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { awaitDecision, createEvent, request, submit } from './http.ts';
import { expectEventInvariants } from './invariants.ts';
import { type Stack, startStack } from './stack.ts';

/** Fires 1,000 submissions for 10 seats at once and returns every final answer. */
async function sellOut(stack: Stack) {
  const event = await createEvent(stack.baseUrl, { capacity: 10 });
  const answers = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => submit(stack.baseUrl, event.id, `user-${i}`, 1)),
  );
  const unexpected = answers.filter((r) => r.status !== 202 && !(r.status === 409 && r.body.code === 'SOLD_OUT'));
  expect(unexpected.map((r) => r.status)).toEqual([]);
  const accepted = answers.filter((r) => r.status === 202).map((r) => r.body.requestId as string);
  expect(new Set(accepted).size).toBe(accepted.length);
  const decisions = await Promise.all(accepted.map((id) => awaitDecision(stack.baseUrl, id)));
  return { event, answers, accepted, decisions };
}

describe.each([
  { gate: true, name: 'with the admission gate' },
  { gate: false, name: 'with every request queued' },
])('1,000 concurrent submissions for 10 seats, $name', ({ gate }) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ admissionGate: gate });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('confirms exactly 10, turns 990 away as SOLD_OUT and leaves 0 available', async () => {
    const { event, answers, decisions } = await sellOut(stack);
    const confirmed = decisions.filter((d) => d.status === 'confirmed');
    const rejectedLater = decisions.filter((d) => d.status === 'rejected');
    const rejectedAtOnce = answers.filter((r) => r.status === 409);
    expect(decisions.filter((d) => d.status === 'pending')).toEqual([]);
    expect(confirmed).toHaveLength(10);
    expect(rejectedLater.length + rejectedAtOnce.length).toBe(990);
    expect(rejectedLater.every((d) => d.reason === 'SOLD_OUT')).toBe(true);
    expect(new Set(confirmed.map((d) => d.bookingId)).size).toBe(10);
    if (!gate) expect(rejectedAtOnce).toHaveLength(0);

    // No false sold-out: every queued rejection was decided after the last seat went.
    const lastConfirmation = Math.max(...confirmed.map((d) => Date.parse(d.decidedAt)));
    expect(rejectedLater.filter((d) => Date.parse(d.decidedAt) < lastConfirmation)).toEqual([]);

    const after = await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`);
    expect(after.body.available).toBe(0);
    await expectEventInvariants(stack.db, event.id);
  });
});
