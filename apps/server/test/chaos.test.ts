import { setTimeout as sleep } from 'node:timers/promises';

import {
  createTestDatabase,
  deleteKeys,
  type Deployment,
  type Running,
  startDeployment,
  TEST_REDIS_URL,
  type TestDatabase,
  uniquePrefix,
} from '@booking/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { saleWithDisruption } from './sale.ts';

// One API and three workers as real processes; a worker is killed or paused in the middle of a sale.
describe('worker processes failing mid-sale', () => {
  let database: TestDatabase;
  let prefix: string;
  let deployment: Deployment;
  let workers: Running[];
  let baseUrl: string;

  beforeEach(async () => {
    database = await createTestDatabase();
    prefix = uniquePrefix();
    deployment = await startDeployment({ databaseUrl: database.url, redisUrl: TEST_REDIS_URL, prefix, workers: 3 });
    ({ baseUrl, workers } = deployment);
  });

  afterEach(async () => {
    await deployment.kill();
    await database.drop();
    await deleteKeys(prefix);
  });

  it('kill -9 of a worker loses and doubles nothing, and its events move on', async () => {
    const { left } = await saleWithDisruption(baseUrl, database.db, 400, 800, async () => {
      workers[0]!.child.kill('SIGKILL');
      await workers[0]!.exited;
    });
    expect(left).toBeLessThan(2);
  });

  it('a worker paused past its lock and resumed decides nothing twice', async () => {
    const { left } = await saleWithDisruption(baseUrl, database.db, 400, 800, async () => {
      workers[1]!.child.kill('SIGSTOP');
      await sleep(4_000);
      workers[1]!.child.kill('SIGCONT');
    });
    expect(left).toBeLessThan(2);
  });
});
