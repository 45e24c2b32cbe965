import { type Decision, insertEvent } from '@booking/db';
import { newBookingId, newEventId, newRequestId } from '@booking/domain';
import {
  awaitDecision,
  createEvent,
  createTestDatabase,
  decideOne,
  expectDecisionsJustified,
  expectEventInvariants,
  request,
  submit,
  type TestDatabase,
} from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('two workers and one event', () => {
  let stack: Stack;
  beforeAll(async () => {
    // No admission gate: every request goes through the queue, so both workers are really stressed.
    stack = await startStack({ workers: 2, admissionGate: false });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('never oversell: 500 concurrent requests of 1..3 seats for 50 seats', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 50 });
    // Both workers race for the event's lease; exactly one wins it.
    await Promise.all(stack.workers.map((w) => w.serve(event.id)));
    expect(stack.workers.filter((w) => w.eventIds.includes(event.id))).toHaveLength(1);

    const quantities = Array.from({ length: 500 }, (_, i) => (i % 3) + 1);
    const answers = await Promise.all(quantities.map((q, i) => submit(stack.baseUrl, event.id, `two-workers-${i}`, q)));
    // A 409 SOLD_OUT at the door is a final answer the contract allows; anything else must be 202.
    const unexpected = answers.filter((a) => a.status !== 202 && !(a.status === 409 && a.body.code === 'SOLD_OUT'));
    expect(unexpected.map((a) => `${a.status} ${JSON.stringify(a.body)}`)).toEqual([]);
    const requestIds = answers.filter((a) => a.status === 202).map((a) => a.body.requestId as string);

    const decisions = await Promise.all(requestIds.map((id) => awaitDecision(stack.baseUrl, id)));
    expect(decisions.filter((d) => d.status === 'pending')).toEqual([]);
    const confirmed = decisions.filter((d) => d.status === 'confirmed');
    const rejected = decisions.filter((d) => d.status === 'rejected');
    expect(rejected.filter((d) => d.reason !== 'SOLD_OUT')).toEqual([]);
    // Demand (about 1,000 seats) exceeds supply, and 1-seat requests keep coming: every seat goes.
    expect(confirmed.reduce((sum, d) => sum + d.quantity, 0)).toBe(50);
    expect(new Set(confirmed.map((d) => d.bookingId)).size).toBe(confirmed.length);

    const after = (await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body;
    expect(after.available).toBe(0);
    await expectEventInvariants(stack.db, event.id);
    expect(await expectDecisionsJustified(stack.db, event.id)).toBe(0);
  });
});

describe('decisions made straight in PostgreSQL, bypassing the queue', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(20);
  });
  afterAll(async () => {
    await database.drop();
  });

  it('never oversell: 200 concurrent one-request decisions on 20 connections for 20 seats', async () => {
    const { db } = database;
    const event = await insertEvent(db, { id: newEventId(), name: 'Fence', capacity: 20 });
    const acceptedAt = new Date().toISOString();
    const decisions: Decision[] = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        decideOne(db, {
          requestId: newRequestId(event.id),
          eventId: event.id,
          userId: `fence-${i}`,
          quantity: 1,
          acceptedAt,
          bookingId: newBookingId(),
        }),
      ),
    );
    expect(decisions.filter((d) => d.status === 'confirmed')).toHaveLength(20);
    expect(decisions.filter((d) => d.status === 'rejected' && d.reason === 'SOLD_OUT')).toHaveLength(180);
    expect(decisions.some((d) => d.replayed)).toBe(false);
    await expectEventInvariants(db, event.id);
    expect(await expectDecisionsJustified(db, event.id)).toBe(0);
  });
});
