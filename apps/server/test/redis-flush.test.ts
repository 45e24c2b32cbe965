import { setTimeout as sleep } from 'node:timers/promises';

import {
  awaitDecision,
  createEvent,
  deleteKeys,
  expectDecisionsJustified,
  expectEventInvariants,
  expectNoFalseSoldOut,
  request,
  submit,
} from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// Deleting every key of the stack's prefix is what a FLUSHALL (or a restart without persistence) does
// to this deployment, without disturbing the other test files that share the Redis server.
describe('Redis loses everything in the middle of a sale', () => {
  let stack: Stack;
  beforeEach(async () => {
    stack = await startStack();
    soldOutAtDoor = [];
  });
  afterEach(async () => {
    await stack.close();
  });

  /** Quantities of the requests turned away at the door as SOLD_OUT, across every fire() call. */
  let soldOutAtDoor: number[] = [];

  async function fire(eventId: string, from: number, count: number) {
    const quantityOf = (i: number) => 1 + (i % 3);
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) => submit(stack.baseUrl, eventId, `user-${from + i}`, quantityOf(from + i))),
    );
    expect(answers.filter((a) => a.status !== 202 && a.status !== 409).map((a) => a.status)).toEqual([]);
    answers.forEach((a, i) => {
      if (a.status === 409) soldOutAtDoor.push(quantityOf(from + i));
    });
    return answers.filter((a) => a.status === 202).map((a) => a.body.requestId as string);
  }

  it('decides every queued request Redis lost, before the requests that came after', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 150 });
    await stack.workers[0]!.close();
    const before = await fire(event.id, 0, 50);
    expect(before).toHaveLength(50);
    await sleep(200); // the journal is written behind the 202s

    await deleteKeys(stack.prefix);
    const after = await fire(event.id, 100, 100);
    expect(after).toHaveLength(100);
    await stack.startWorker();

    const lost = await Promise.all(before.map((id) => awaitDecision(stack.baseUrl, id)));
    const later = await Promise.all(after.map((id) => awaitDecision(stack.baseUrl, id)));
    expect([...lost, ...later].filter((d) => d.status === 'pending')).toEqual([]);
    const lastLost = Math.max(...lost.map((d) => Date.parse(d.decidedAt)));
    const firstLater = Math.min(...later.map((d) => Date.parse(d.decidedAt)));
    expect(lastLost).toBeLessThanOrEqual(firstLater);
    await expectEventInvariants(stack.db, event.id);
    const left = await expectDecisionsJustified(stack.db, event.id);
    expect(left).toBe(0);
  });

  it('keeps every guarantee when Redis is flushed while requests are being decided', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 300 });
    const first = fire(event.id, 0, 300);
    await sleep(50);
    await deleteKeys(stack.prefix);
    const second = await fire(event.id, 300, 300);
    const accepted = [...(await first), ...second];

    const decisions = await Promise.all(accepted.map((id) => awaitDecision(stack.baseUrl, id)));
    expect(decisions.filter((d) => d.status === 'pending')).toEqual([]);
    await expectEventInvariants(stack.db, event.id);
    const left = await expectDecisionsJustified(stack.db, event.id);
    expectNoFalseSoldOut(left, [...soldOutAtDoor, ...decisions.filter((d) => d.reason === 'SOLD_OUT').map((d) => d.quantity)]);
    const row = await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`);
    expect(row.body.available).toBe(left);
  });

  it('rebuilds the gate while idle, so a sold-out event answers SOLD_OUT at once again', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 2 });
    const answers = await Promise.all([0, 1].map((i) => submit(stack.baseUrl, event.id, `user-${i}`, 1)));
    await Promise.all(answers.map((a) => awaitDecision(stack.baseUrl, a.body.requestId)));
    await deleteKeys(stack.prefix);

    let status = 0;
    for (let i = 0; i < 50 && status !== 409; i++) {
      await sleep(200);
      const probe = await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`);
      expect(probe.body.available).toBe(0);
      // Only submit once the health check has had time to rebuild the gate.
      if (i >= 15) status = (await submit(stack.baseUrl, event.id, `late-${i}`, 1)).status;
    }
    expect(status).toBe(409);
  });
});
