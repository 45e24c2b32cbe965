import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { awaitDecision, createEvent, submit } from './http.ts';
import { expectEventInvariants } from './invariants.ts';
import { type Stack, startStack } from './stack.ts';

describe('1,000 concurrent submissions for 10 seats', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('confirms exactly 10, rejects 990 as SOLD_OUT and leaves 0 available', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const accepted = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => submit(stack.baseUrl, event.id, `user-${i}`, 1)),
    );
    expect(accepted.map((r) => r.status).filter((s) => s !== 202)).toEqual([]);
    const requestIds = accepted.map((r) => r.body.requestId as string);
    expect(new Set(requestIds).size).toBe(1000);

    const decisions = await Promise.all(requestIds.map((id) => awaitDecision(stack.baseUrl, id)));
    const confirmed = decisions.filter((d) => d.status === 'confirmed');
    const rejected = decisions.filter((d) => d.status === 'rejected');
    expect(confirmed).toHaveLength(10);
    expect(rejected).toHaveLength(990);
    expect(rejected.every((d) => d.reason === 'SOLD_OUT')).toBe(true);
    expect(new Set(confirmed.map((d) => d.bookingId)).size).toBe(10);

    // No false sold-out: every rejection was decided after the last seat went.
    const lastConfirmation = Math.max(...confirmed.map((d) => Date.parse(d.decidedAt)));
    expect(rejected.filter((d) => Date.parse(d.decidedAt) < lastConfirmation)).toEqual([]);

    const after = await fetch(`${stack.baseUrl}/v1/events/${event.id}`).then((r) => r.json());
    expect(after.available).toBe(0);
    await expectEventInvariants(stack.db, event.id);
    const counts = await stack.db
      .selectFrom('booking_requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('event_id', '=', event.id)
      .executeTakeFirstOrThrow();
    expect(Number(counts.n)).toBe(1000);
  });
});
