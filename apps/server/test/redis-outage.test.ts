import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ApiHandle } from '@booking/api';
import { newRequestId } from '@booking/domain';
import {
  awaitDecision,
  createEvent,
  expectProblem,
  freePort,
  type JsonResponse,
  request,
  rowCounts,
  type TestDatabase,
} from '@booking/test-support';
import type { WorkerHandle } from '@booking/worker';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PrivateRedis, startOn } from './private-redis.ts';

// This file runs its own redis-server on a free loopback port and kills or pauses it; the shared
// Redis the other test files use is never touched.

/** Runs a request and measures it client-side, body included. */
async function timed(send: () => Promise<JsonResponse>): Promise<{ res: JsonResponse; ms: number }> {
  const started = performance.now();
  const res = await send();
  return { res, ms: performance.now() - started };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (values: number[]) => values.map((v) => Math.round(v * 10) / 10);

function expectUnavailable(res: JsonResponse): void {
  expectProblem(res, 503, 'UNAVAILABLE');
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

async function withTimeout(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!promise) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

describe('Redis goes down and comes back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'booking-redis-outage-'));
  let redis: PrivateRedis;
  let database: TestDatabase | undefined;
  let api: ApiHandle | undefined;
  let worker: WorkerHandle | undefined;
  let baseUrl: string;
  const transitions: string[] = [];

  let eventId: string;
  let bookingId: string;

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort(), dir);
    await redis.start();
    ({ database, api, worker, baseUrl } = await startOn(redis));
    api.redisBreaker.onStateChange((state) => transitions.push(state));
  });

  afterAll(async () => {
    try {
      // The API and the worker hand work back to Redis as they stop: give them one to talk to.
      if (!redis.running) await redis.start().catch(() => {});
      let t = performance.now();
      await withTimeout(api?.close(), 20_000);
      console.log('api close', performance.now() - t);
      t = performance.now();
      await withTimeout(worker?.close(), 20_000);
      console.log('worker close', performance.now() - t);
    } finally {
      await redis.kill();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const submit = (userId: string, headers: Record<string, string> = {}, event = eventId) =>
    request(baseUrl, 'POST', `/v1/events/${event}/bookings`, { json: { userId, quantity: 1 }, headers });

  async function journalled(): Promise<number> {
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM accepted_requests`.execute(database!.db);
    return rows[0]!.n;
  }

  it('books while Redis is up', async () => {
    eventId = (await createEvent(baseUrl, { capacity: 100 })).id;
    const res = await submit('before');
    expect(res.status).toBe(202);
    const decision = await awaitDecision(baseUrl, res.body.requestId, 20);
    expect(decision.status).toBe('confirmed');
    bookingId = decision.bookingId;
    expect(api!.redisBreaker.state()).toBe('closed');
    expect((await request(baseUrl, 'GET', '/readyz')).status).toBe(200);
    // With Redis up, a request id nobody submitted is simply unknown.
    expect((await request(baseUrl, 'GET', `/v1/booking-requests/${newRequestId(eventId)}?wait=1`)).status).toBe(404);
  });

  it('answers 503 UNAVAILABLE with Retry-After at once while Redis is down, and writes nothing', async () => {
    const errorsBefore = api!.redisBreaker.connectionErrors();
    const before = { ...(await rowCounts(database!.db)), journal: await journalled() };
    await redis.kill();

    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const { res, ms } = await timed(() => submit(`down-${i}`));
      expectUnavailable(res);
      latencies.push(ms);
    }
    // Several at once, as a crowd would send them.
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => timed(() => submit(`burst-${i}`))));
    for (const { res } of burst) expectUnavailable(res);
    const burstMs = burst.map((b) => b.ms);
    console.log(
      `[redis-outage] submission latencies while down (ms): sequential ${JSON.stringify(round(latencies))}; ` +
        `median ${median(latencies).toFixed(1)}, max ${Math.max(...latencies).toFixed(1)}; ` +
        `burst of 20: median ${median(burstMs).toFixed(1)}, max ${Math.max(...burstMs).toFixed(1)}`,
    );
    expect(median(latencies)).toBeLessThan(100);
    expect(Math.max(...latencies)).toBeLessThan(1000);
    expect(Math.max(...burstMs)).toBeLessThan(1000);

    // The breaker has opened: calls no longer reach for Redis.
    expect(transitions).toContain('open');
    expect(api!.redisBreaker.state()).not.toBe('closed');

    // With an Idempotency-Key too.
    const keyed = await timed(() => submit('keyed', { 'idempotency-key': 'outage-key-1' }));
    expectUnavailable(keyed.res);
    expect(keyed.ms).toBeLessThan(1000);

    // A long-poll of a request the API cannot look up in its queue: 503, not a wait.
    const poll = await timed(() => request(baseUrl, 'GET', `/v1/booking-requests/${newRequestId(eventId)}?wait=10`));
    expectUnavailable(poll.res);
    expect(poll.ms).toBeLessThan(1000);

    // A cancellation has to go through the event's queue: 503 at once, the booking unchanged.
    const cancel = await timed(() => request(baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`));
    expectUnavailable(cancel.res);
    expect(cancel.ms).toBeLessThan(1000);
    const booking = await request(baseUrl, 'GET', `/v1/bookings/${bookingId}`);
    expect(booking.status).toBe(200);
    expect(booking.body.status).toBe('confirmed');

    // Not ready while Redis is down; alive all the same.
    const ready = await timed(() => request(baseUrl, 'GET', '/readyz'));
    console.log(`[redis-outage] /readyz while down: ${ready.res.status} in ${ready.ms.toFixed(1)} ms`);
    expect(ready.res.status).toBe(503);
    expect(ready.res.headers.get('retry-after')).not.toBeNull();
    expect(ready.res.body).toMatchObject({ checks: { postgres: 'ok', redis: 'unavailable' } });
    expect(ready.ms).toBeLessThan(1000);
    expect((await request(baseUrl, 'GET', '/healthz')).status).toBe(200);
    // Reads that need only PostgreSQL still work.
    expect((await request(baseUrl, 'GET', `/v1/events/${eventId}`)).status).toBe(200);

    await sleep(300);
    expect({ ...(await rowCounts(database!.db)), journal: await journalled() }).toEqual(before);
    expect(api!.redisBreaker.connectionErrors()).toBeGreaterThan(errorsBefore);
  });

  it('resumes on its own when Redis is back: submissions are accepted and decided again', async () => {
    await sleep(500);
    const restarted = performance.now();
    await redis.start();

    let accepted: JsonResponse | undefined;
    const statuses: number[] = [];
    while (performance.now() - restarted < 20_000) {
      const res = await submit(`after-${statuses.length}`);
      statuses.push(res.status);
      if (res.status === 202) {
        accepted = res;
        break;
      }
      expectUnavailable(res);
      await sleep(100);
    }
    const recoveredMs = performance.now() - restarted;
    console.log(
      `[redis-outage] first 202 ${recoveredMs.toFixed(0)} ms after redis-server restarted (${statuses.length} tries); ` +
        `breaker transitions: ${transitions.join(' -> ')}`,
    );
    expect(accepted, `statuses while recovering: ${statuses.join(',')}`).toBeDefined();
    expect(recoveredMs).toBeLessThan(10_000);
    expect(api!.redisBreaker.state()).toBe('closed');
    // Recovery went through a successful half-open trial.
    expect(transitions.slice(-2)).toEqual(['half-open', 'closed']);

    const decision = await awaitDecision(baseUrl, accepted!.body.requestId, 20);
    expect(decision.status).toBe('confirmed');

    const more = await Promise.all(Array.from({ length: 5 }, (_, i) => submit(`later-${i}`)));
    expect(more.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    const decided = await Promise.all(more.map((r) => awaitDecision(baseUrl, r.body.requestId, 20)));
    expect(decided.map((d) => d.status)).toEqual(['confirmed', 'confirmed', 'confirmed', 'confirmed', 'confirmed']);

    const cancel = await request(baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    expect((await request(baseUrl, 'GET', '/readyz')).status).toBe(200);

    const event = await request(baseUrl, 'GET', `/v1/events/${eventId}`);
    expect(event.body.available).toBe(100 - 6);
  });
});

describe('Redis stops answering in the middle of a burst and answers again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'booking-redis-pause-'));
  let redis: PrivateRedis;
  let database: TestDatabase | undefined;
  let api: ApiHandle | undefined;
  let worker: WorkerHandle | undefined;
  let baseUrl: string;

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort(), dir);
    await redis.start();
    ({ database, api, worker, baseUrl } = await startOn(redis));
  });

  afterAll(async () => {
    try {
      redis.signal('SIGCONT');
      await withTimeout(api?.close(), 20_000);
      await withTimeout(worker?.close(), 20_000);
    } finally {
      await redis.kill();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never books a request whose client was told 503, and decides every 202', async () => {
    const eventId = (await createEvent(baseUrl, { capacity: 100_000 })).id;
    const answers = new Map<string, JsonResponse>();
    let sent = 0;
    // Clients sending one request after another, while Redis is paused for 6 s in between. The
    // requests in flight when it stops mostly wait on their enqueue, which times out after 2 s and
    // answers 202 (the job may be in Redis all the same). The clients' next requests then wait at the
    // gate, on a command that times out 2 s later, with Redis still paused: those are refused with
    // 503. A pause of only twice the timeout let that second wave ride it out (one CI run: 1,630
    // submissions, all 202); three times leaves a whole timeout of margin on a loaded machine.
    let stopAt = Number.POSITIVE_INFINITY;
    const client = async (c: number) => {
      while (performance.now() < stopAt) {
        const userId = `c${c}-${sent++}`;
        answers.set(userId, await request(baseUrl, 'POST', `/v1/events/${eventId}/bookings`, { json: { userId, quantity: 1 } }));
      }
    };
    const clients = Promise.all(Array.from({ length: 20 }, (_, c) => client(c)));
    await sleep(500);
    redis.signal('SIGSTOP');
    await sleep(6_000);
    redis.signal('SIGCONT');
    stopAt = performance.now() + 1_000;
    await clients;

    const refused = [...answers].filter(([, res]) => res.status === 503).map(([userId]) => userId);
    const accepted = [...answers].filter(([, res]) => res.status === 202);
    console.log(`[redis-pause] ${answers.size} submissions: ${accepted.length} accepted, ${refused.length} refused with 503`);
    expect(accepted.length + refused.length, 'every answer is a 202 or a 503').toBe(answers.size);
    expect(refused.length, 'the pause refused some submissions').toBeGreaterThan(0);

    // Every 202 is decided (from the queue, or recovered from the journal by the housekeeping).
    const decided = await Promise.all(accepted.map(([, res]) => awaitDecision(baseUrl, res.body.requestId, 60)));
    expect(decided.filter((d) => d.status !== 'confirmed').map((d) => d.status)).toEqual([]);
    // Whatever Redis still carries out after it resumes, nothing is booked for a client told 503.
    await sleep(3_000);
    const { rows } = await sql<{ user_id: string }>`
      SELECT user_id FROM booking_requests WHERE event_id = ${eventId} AND user_id = ANY (${refused}::text[])`.execute(database!.db);
    expect(rows.map((r) => r.user_id)).toEqual([]);
  });
});
