import { awaitDecision, createEvent, expectEventInvariants, expectProblem, request, submit } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('queue position while no worker runs', () => {
  let stack: Stack;
  let eventId: string;
  let accepted: Array<{ status: number; body: any }>;
  beforeAll(async () => {
    stack = await startStack();
    await stack.workers[0]!.close();
    eventId = (await createEvent(stack.baseUrl, { capacity: 100 })).id;
    accepted = [];
    for (let i = 0; i < 10; i++) accepted.push(await submit(stack.baseUrl, eventId, `queued-${i}`, 1));
  });
  afterAll(async () => {
    await stack.close();
  });

  it('gives ten sequential submissions positions 0..9 in their 202s', () => {
    expect(accepted.map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(accepted.map((a) => a.body.position)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('reads the 10th as pending at position 9 with a numeric estimatedWaitMs', async () => {
    const res = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${accepted[9]!.body.requestId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'pending', position: 9, estimatedWaitMs: expect.any(Number) });
    expect(res.body.estimatedWaitMs).toBeGreaterThanOrEqual(0);
  });

  // Starts a worker: keep this test last in this block.
  it('decides all ten once a worker starts', async () => {
    await stack.startWorker();
    const decided = await Promise.all(accepted.map((a) => awaitDecision(stack.baseUrl, a.body.requestId as string)));
    expect(decided.map((d) => d.status)).toEqual(Array(10).fill('confirmed'));
  });
});

describe('a cancellation on a sold-out event', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('gives its seats back to the gate: SOLD_OUT at once before, accepted and confirmed after', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2 });
    const holder = await submit(stack.baseUrl, event.id, 'holder', 2);
    expect(holder.status).toBe(202);
    const held = await awaitDecision(stack.baseUrl, holder.body.requestId as string);
    expect(held.status).toBe('confirmed');

    const path = `/v1/events/${event.id}/bookings`;
    expectProblem(await request(stack.baseUrl, 'POST', path, { json: { userId: 'early', quantity: 1 } }), 409, 'SOLD_OUT');

    expect((await request(stack.baseUrl, 'POST', `/v1/bookings/${held.bookingId}/cancel`)).status).toBe(200);
    const later = await submit(stack.baseUrl, event.id, 'later', 2);
    expect(later.status).toBe(202);
    expect((await awaitDecision(stack.baseUrl, later.body.requestId as string)).status).toBe('confirmed');
    await expectEventInvariants(stack.db, event.id);
  });
});
