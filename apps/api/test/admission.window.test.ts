import { setTimeout as sleep } from 'node:timers/promises';

import { awaitDecision, createEvent, expectProblem, fromNow, request } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

function book(stack: Stack, eventId: string, userId: string, quantity = 1) {
  return request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, { json: { userId, quantity } });
}

/** Sleeps until `iso` is at least `marginMs` in the past. */
async function until(iso: string, marginMs = 100): Promise<void> {
  const ms = Date.parse(iso) + marginMs - Date.now();
  if (ms > 0) await sleep(ms);
}

describe('per-user rate limit of 5 submissions per 2 s', () => {
  let stack: Stack;
  let eventId: string;
  beforeAll(async () => {
    stack = await startStack({ rateLimit: { points: 5, windowSeconds: 2 } });
    eventId = (await createEvent(stack.baseUrl, { capacity: 1000 })).id;
  });
  afterAll(async () => {
    await stack.close();
  });

  /** Sends `n` submissions of `userId` one after another; returns their statuses. */
  async function burst(userId: string, n: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await book(stack, eventId, userId)).status);
    return statuses;
  }

  it('lets the first 5 submissions of a user through', async () => {
    expect(await burst('five', 5)).toEqual([202, 202, 202, 202, 202]);
  });

  it('answers the 6th with 429 RATE_LIMITED and a numeric Retry-After of at least 1 s', async () => {
    await burst('six', 5);
    const res = await book(stack, eventId, 'six');
    expectProblem(res, 429, 'RATE_LIMITED');
    const retryAfter = res.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('does not limit another user while one is limited', async () => {
    await burst('flooder', 6);
    expect((await book(stack, eventId, 'bystander')).status).toBe(202);
  });

  it('accepts the user again once the Retry-After has passed', async () => {
    await burst('patient', 5);
    const limited = await book(stack, eventId, 'patient');
    expect(limited.status).toBe(429);
    await sleep(Number(limited.headers.get('retry-after')) * 1000 + 100);
    expect((await book(stack, eventId, 'patient')).status).toBe(202);
  });
});

describe('the sales window', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it('answers 409 SALES_NOT_OPEN before salesStartAt', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10, salesStartAt: fromNow(1_500) });
    expectProblem(await book(stack, event.id, 'early'), 409, 'SALES_NOT_OPEN');
  });

  it('accepts and confirms a request once salesStartAt has passed', async () => {
    const salesStartAt = fromNow(1_500);
    const event = await createEvent(stack.baseUrl, { capacity: 10, salesStartAt });
    await until(salesStartAt);
    const res = await book(stack, event.id, 'on-time');
    expect(res.status).toBe(202);
    expect((await awaitDecision(stack.baseUrl, res.body.requestId as string)).status).toBe('confirmed');
  });

  it('answers 409 SALES_CLOSED once salesEndAt has passed', async () => {
    const salesEndAt = fromNow(1_500);
    const event = await createEvent(stack.baseUrl, { capacity: 10, salesEndAt });
    await until(salesEndAt);
    expectProblem(await book(stack, event.id, 'too-late'), 409, 'SALES_CLOSED');
  });

  // Stops the worker and starts another one.
  it('confirms a request accepted before salesEndAt but decided after it', async () => {
    await stack.workers[0]!.close();
    const salesEndAt = fromNow(1_500);
    const event = await createEvent(stack.baseUrl, { capacity: 10, salesEndAt });
    const res = await book(stack, event.id, 'last-minute');
    expect(res.status).toBe(202);
    await until(salesEndAt);
    const pending = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${res.body.requestId}`);
    expect(pending.body.status).toBe('pending');

    await stack.startWorker();
    const decided = await awaitDecision(stack.baseUrl, res.body.requestId as string);
    expect(decided).toMatchObject({ status: 'confirmed', bookingId: expect.any(String) });
    expect(Date.parse(decided.decidedAt)).toBeGreaterThan(Date.parse(salesEndAt));
  });
});
