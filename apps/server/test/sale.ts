import { setTimeout as sleep } from 'node:timers/promises';

import type { Db } from '@booking/db';
import {
  awaitDecision,
  DEPLOYMENT_ADMIN_KEY,
  expectDecisionsJustified,
  expectEventInvariants,
  expectNoFalseSoldOut,
  request,
} from '@booking/test-support';
import { expect } from 'vitest';

/**
 * Runs a sale against a deployment in four waves of submissions (1 or 2 seats each), calling
 * `disrupt` after the second, then waits for every accepted request and checks that each was decided
 * exactly once, nothing was oversold and every SOLD_OUT was justified. Returns the seats left (0 or 1:
 * with 1 left, every later request that came for 2 was rightly turned away).
 */
export async function saleWithDisruption(
  baseUrl: string,
  db: Db,
  capacity: number,
  requests: number,
  disrupt: () => Promise<void>,
): Promise<{ eventId: string; left: number }> {
  const created = await request(baseUrl, 'POST', '/v1/events', {
    headers: { authorization: `Bearer ${DEPLOYMENT_ADMIN_KEY}` },
    json: { name: 'Chaos', capacity },
  });
  expect(created.status).toBe(201);
  const eventId = created.body.id as string;
  const quantityOf = (i: number) => 1 + (i % 2);
  const fire = (from: number, count: number) =>
    Promise.all(
      Array.from({ length: count }, async (_, i) => ({
        quantity: quantityOf(from + i),
        ...(await request(baseUrl, 'POST', `/v1/events/${eventId}/bookings`, {
          json: { userId: `u${from + i}`, quantity: quantityOf(from + i) },
        })),
      })),
    );
  const answers = [];
  const per = Math.ceil(requests / 4);
  for (let wave = 0; wave < 4; wave++) {
    answers.push(...(await fire(wave * per, per)));
    if (wave === 1) await disrupt();
    await sleep(150);
  }
  expect(answers.filter((a) => a.status !== 202 && a.status !== 409).map((a) => a.status)).toEqual([]);
  const accepted = answers.filter((a) => a.status === 202).map((a) => a.body.requestId as string);
  const decisions = await Promise.all(accepted.map((id) => awaitDecision(baseUrl, id, 60)));
  expect(decisions.filter((d) => d.status === 'pending').map((d) => d.requestId)).toEqual([]);
  await expectEventInvariants(db, eventId);
  const left = await expectDecisionsJustified(db, eventId);
  expectNoFalseSoldOut(left, [
    ...answers.filter((a) => a.status === 409).map((a) => a.quantity),
    ...decisions.filter((d) => d.reason === 'SOLD_OUT').map((d) => d.quantity as number),
  ]);
  const decided = await db.selectFrom('booking_requests').select('id').where('event_id', '=', eventId).execute();
  expect(decided).toHaveLength(accepted.length);
  return { eventId, left };
}
