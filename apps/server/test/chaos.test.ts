import { setTimeout as sleep } from 'node:timers/promises';

import { type TestDatabase, TEST_REDIS_URL, createTestDatabase, deleteKeys, uniquePrefix } from '@booking/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { awaitDecision, request } from './http.ts';
import { expectDecisionsJustified, expectEventInvariants } from './invariants.ts';
import { ENTRY_POINTS, type Running, freePort, start, until } from './processes.ts';

const ADMIN = 'chaos-admin-key-0123456789';

// One API and three workers as real processes; a worker is killed or paused in the middle of a sale.
describe('worker processes failing mid-sale', () => {
  let database: TestDatabase;
  let prefix: string;
  let api: Running;
  let workers: Running[];
  let baseUrl: string;

  beforeEach(async () => {
    database = await createTestDatabase();
    prefix = uniquePrefix();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      ADMIN_API_KEY: ADMIN,
      WORKER_LOCK_MS: '2000',
      RATE_LIMIT_POINTS: '1000',
    };
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    api = start(ENTRY_POINTS.api, { ...env, PORT: String(port) });
    workers = [0, 1, 2].map(() => start(ENTRY_POINTS.worker, { ...env, METRICS_PORT: '0', LOG_LEVEL: 'info' }));
    await until(api, async () => (await fetch(`${baseUrl}/healthz`)).ok, 30_000, 'API up');
    for (const w of workers) await until(w, () => w.output().includes('worker started'), 30_000, 'worker up');
  });

  afterEach(async () => {
    for (const p of [api, ...workers]) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
    await Promise.all([api, ...workers].map((p) => p.exited));
    await database.drop();
    await deleteKeys(prefix);
  });

  async function sale(capacity: number, requests: number, disrupt: () => Promise<void>) {
    const created = await request(baseUrl, 'POST', '/v1/events', {
      headers: { authorization: `Bearer ${ADMIN}` },
      json: { name: 'Chaos', capacity },
    });
    expect(created.status).toBe(201);
    const eventId = created.body.id as string;
    const fire = (from: number, count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          request(baseUrl, 'POST', `/v1/events/${eventId}/bookings`, { json: { userId: `u${from + i}`, quantity: 1 + ((from + i) % 2) } }),
        ),
      );
    const waves = [];
    const per = Math.ceil(requests / 4);
    for (let w = 0; w < 4; w++) {
      waves.push(...(await fire(w * per, per)));
      if (w === 1) await disrupt();
      await sleep(150);
    }
    expect(waves.filter((a) => a.status !== 202 && a.status !== 409).map((a) => a.status)).toEqual([]);
    const accepted = waves.filter((a) => a.status === 202).map((a) => a.body.requestId as string);
    const decisions = await Promise.all(accepted.map((id) => awaitDecision(baseUrl, id, 60)));
    expect(decisions.filter((d) => d.status === 'pending').map((d) => d.requestId)).toEqual([]);
    await expectEventInvariants(database.db, eventId);
    const left = await expectDecisionsJustified(database.db, eventId);
    const decided = await database.db.selectFrom('booking_requests').select('id').where('event_id', '=', eventId).execute();
    expect(decided).toHaveLength(accepted.length);
    return { eventId, left };
  }

  it('kill -9 of a worker loses and doubles nothing, and its events move on', async () => {
    const { left } = await sale(400, 800, async () => {
      workers[0]!.child.kill('SIGKILL');
      await workers[0]!.exited;
    });
    expect(left).toBe(0);
  });

  it('a worker paused past its lock and resumed decides nothing twice', async () => {
    const { left } = await sale(400, 800, async () => {
      workers[1]!.child.kill('SIGSTOP');
      await sleep(4_000);
      workers[1]!.child.kill('SIGCONT');
    });
    expect(left).toBe(0);
  });
});
