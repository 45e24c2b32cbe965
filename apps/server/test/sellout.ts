import { awaitDecision, createEvent, expectEventInvariants, request, submit } from '@booking/test-support';
import type { Stack } from '@booking/test-support/stack';
import { expect } from 'vitest';

/**
 * The core concurrency check: fires 1,000 submissions for 10 seats at once, waits for every decision
 * and checks that exactly 10 are confirmed, the other 990 turned away as SOLD_OUT (at the door, or by
 * the worker only after the last seat went), nothing is left pending and 0 seats remain.
 */
export async function expectTenSeatsSoldToThousand(stack: Stack, gate: boolean) {
  const event = await createEvent(stack.baseUrl, { capacity: 10 });
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => submit(stack.baseUrl, event.id, `user-${i}`, 1)));
  const answeredMs = performance.now() - started;
  const unexpected = answers.filter((r) => r.status !== 202 && !(r.status === 409 && r.body.code === 'SOLD_OUT'));
  expect(unexpected.map((r) => `${r.status} ${JSON.stringify(r.body)}`)).toEqual([]);
  const accepted = answers.filter((r) => r.status === 202).map((r) => r.body.requestId as string);
  expect(new Set(accepted).size).toBe(accepted.length);
  const decisions = await Promise.all(accepted.map((id) => awaitDecision(stack.baseUrl, id)));
  const decidedMs = performance.now() - started;

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
  return { event, accepted, confirmed, rejectedLater, rejectedAtOnce, answeredMs, decidedMs };
}
