import { setTimeout as sleep } from 'node:timers/promises';

import { createDb, ensureDatabase, migrateToLatest } from '@booking/db';
import {
  awaitDecision,
  createEvent,
  deleteKeys,
  type Deployment,
  expectDecisionsJustified,
  expectEventInvariants,
  expectNoFalseSoldOut,
  type PrivatePostgres,
  startDeployment,
  startPrivatePostgres,
  submit,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
} from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { saleWithDisruption } from './sale.ts';

// PostgreSQL goes away for a few seconds in the middle of a sale: submissions for a known event keep
// being accepted (the ingress does not need Postgres), the worker waits the outage out and decides
// everything, in order, once it is back.
describe('PostgreSQL restarted mid-sale', () => {
  let server: PrivatePostgres;
  let database: TestDatabase;
  let stack: Stack;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    const url = server.url('booking');
    await ensureDatabase(url);
    const { db, pool } = createDb({ url, poolSize: 10 });
    await migrateToLatest(db);
    database = { name: 'booking', url, db, pool, drop: () => db.destroy() };
    stack = await startStack({ database });
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
    server?.destroy();
  });

  it('loses nothing, oversells nothing and decides every request once it is back', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 200 });
    const fire = (from: number, count: number) =>
      Promise.all(Array.from({ length: count }, (_, i) => submit(stack.baseUrl, event.id, `u${from + i}`, 1 + ((from + i) % 2))));

    const before = await fire(0, 100);
    await server.stop();
    const during = await fire(100, 100);
    await sleep(2_000);
    await server.start();
    const after = await fire(200, 100);

    const answers = [...before, ...during, ...after].map((a, i) => ({ ...a, quantity: 1 + (i % 2) }));
    expect(answers.filter((a) => a.status !== 202 && a.status !== 409).map((a) => a.status)).toEqual([]);
    // While Postgres was down the ingress kept accepting (the event is known).
    expect(during.filter((a) => a.status === 202).length).toBeGreaterThan(0);
    const accepted = answers.filter((a) => a.status === 202).map((a) => a.body.requestId as string);
    const decisions = await Promise.all(accepted.map((id) => awaitDecision(stack.baseUrl, id, 60)));
    expect(decisions.filter((d) => d.status === 'pending').map((d) => d.requestId)).toEqual([]);
    await expectEventInvariants(stack.db, event.id);
    const left = await expectDecisionsJustified(stack.db, event.id);
    expectNoFalseSoldOut(left, [
      ...answers.filter((a) => a.status === 409).map((a) => a.quantity),
      ...decisions.filter((d) => d.reason === 'SOLD_OUT').map((d) => d.quantity as number),
    ]);
    // The journal is written behind: a row may land after its request was decided; none may be undecided.
    const undecided = await stack.db
      .selectFrom('accepted_requests as a')
      .leftJoin('booking_requests as r', 'r.id', 'a.id')
      .select('a.id')
      .where('a.event_id', '=', event.id)
      .where('r.id', 'is', null)
      .execute();
    expect(undecided, 'every journalled request was decided').toEqual([]);
  });
});

// The same, as deployed: one API and three worker processes; PostgreSQL is stopped for two seconds
// between the second and third waves of a sale.
describe('PostgreSQL restarted mid-sale under one API and three worker processes', () => {
  let server: PrivatePostgres;
  let database: TestDatabase;
  let deployment: Deployment;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    server = await startPrivatePostgres();
    const url = server.url('booking');
    await ensureDatabase(url);
    const { db, pool } = createDb({ url, poolSize: 5 });
    await migrateToLatest(db);
    database = { name: 'booking', url, db, pool, drop: () => db.destroy() };
    deployment = await startDeployment({ databaseUrl: url, redisUrl: TEST_REDIS_URL, prefix, workers: 3 });
  });
  afterAll(async () => {
    await deployment?.kill();
    await database?.drop();
    server?.destroy();
    await deleteKeys(prefix);
  });

  it('decides every accepted request exactly once, oversells nothing', async () => {
    const { left } = await saleWithDisruption(deployment.baseUrl, database.db, 300, 600, async () => {
      await server.stop();
      await sleep(2_000);
      await server.start();
    });
    expect(left).toBeLessThan(2);
  });
});
