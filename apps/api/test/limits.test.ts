import { type ApiHandle, startApi } from '@booking/api';
import { createEvent, request, submit, TEST_REDIS_URL, testLogger } from '@booking/test-support';
import { ADMIN_KEY, type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Per-client-address limits that hold across API processes, bounds on long-polls, and the
// throttle on wrong admin keys.

describe('the per-address rate limit', () => {
  let stack: Stack;
  let second: ApiHandle;
  let other: string;
  const points = 4;

  beforeAll(async () => {
    const api = { addressRateLimitPoints: points };
    stack = await startStack({ rateLimit: { points: 1_000, windowSeconds: 60 }, api });
    // A second API process on the same database and Redis key prefix, as another replica would be.
    second = await startApi({
      db: stack.db,
      redis: { url: TEST_REDIS_URL, cluster: false },
      prefix: stack.prefix,
      logger: testLogger(),
      adminKey: ADMIN_KEY,
      port: 0,
      host: '127.0.0.1',
      rateLimit: { points: 1_000, windowSeconds: 60 },
      ...api,
    });
    other = `http://127.0.0.1:${second.port}`;
  });

  afterAll(async () => {
    await second?.close();
    await stack?.close();
  });

  it('holds across two API processes, whatever user ids the address rotates through', async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 100 });
    const bases = [stack.baseUrl, other, stack.baseUrl, other];
    const first = await submit(stack.baseUrl, event.id, 'user-0', 1, { 'Idempotency-Key': 'first' });
    expect(first.status).toBe(202);
    for (let i = 1; i < points; i++) expect((await submit(bases[i]!, event.id, `user-${i}`, 1)).status).toBe(202);
    for (const base of [stack.baseUrl, other]) {
      const limited = await submit(base, event.id, `user-new-${base}`, 1);
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // A replay is the first answer, never counted and never limited.
    const replay = await submit(other, event.id, 'user-0', 1, { 'Idempotency-Key': 'first' });
    expect(replay.status).toBe(202);
    expect(replay.body.requestId).toBe(first.body.requestId);
    // Another event has a counter of its own.
    const elsewhere = await createEvent(stack.baseUrl, { capacity: 1 });
    expect((await submit(other, elsewhere.id, 'user-0', 1)).status).toBe(202);
  });
});

describe('the long-poll bounds', () => {
  let header: Stack;
  let none: Stack;

  beforeAll(async () => {
    // No worker: requests stay pending, so long-polls wait their full time.
    header = await startStack({ workers: 0, api: { auth: { mode: 'header' }, longPolls: { perUser: 1, perProcess: 2 } } });
    none = await startStack({ workers: 0, api: { longPolls: { perUser: 1, perProcess: 1 } } });
  });

  afterAll(async () => {
    await header?.close();
    await none?.close();
  });

  async function pendingRequest(stack: Stack, user: string): Promise<string> {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const res = await request(stack.baseUrl, 'POST', `/v1/events/${event.id}/bookings`, {
      json: { userId: user, quantity: 1 },
      headers: { 'X-User-Id': user },
    });
    expect(res.status).toBe(202);
    return res.body.requestId;
  }

  const poll = (stack: Stack, id: string, user: string, wait: number) =>
    request(stack.baseUrl, 'GET', `/v1/booking-requests/${id}?wait=${wait}`, { headers: { 'X-User-Id': user } });

  async function untilHeld(stack: Stack, n: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const metrics = await fetch(`${stack.baseUrl}/metrics`).then((r) => r.text());
      if (new RegExp(`^booking_long_polls_held ${n}$`, 'm').test(metrics)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`never ${n} long-polls held`);
  }

  it('answers 503 with Retry-After past the per-user and per-process bounds, and recovers when waits end', async () => {
    const a = await pendingRequest(header, 'ann');
    const b = await pendingRequest(header, 'ben');
    const c = await pendingRequest(header, 'cid');
    const held = poll(header, a, 'ann', 3);
    await untilHeld(header, 1);
    const again = await poll(header, a, 'ann', 3);
    expect(again.status).toBe(503);
    expect(again.headers.get('retry-after')).toBe('1');
    const other = poll(header, b, 'ben', 3);
    await untilHeld(header, 2);
    expect((await poll(header, c, 'cid', 3)).status).toBe(503);
    // An answer without waiting is not bounded.
    expect((await poll(header, c, 'cid', 0)).status).toBe(200);
    expect((await held).body.status).toBe('pending');
    expect((await other).status).toBe(200);
    await untilHeld(header, 0);
    expect((await poll(header, c, 'cid', 1)).status).toBe(200);
  });

  it('bounds the fast long-poll path too (AUTH_MODE=none)', async () => {
    const a = await pendingRequest(none, 'ann');
    const b = await pendingRequest(none, 'ben');
    const held = poll(none, a, 'ann', 3);
    await untilHeld(none, 1);
    const refused = await poll(none, b, 'ben', 3);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
    const answered = await held;
    expect(answered.status).toBe(200);
    expect(answered.headers.get('x-content-type-options')).toBe('nosniff');
    await untilHeld(none, 0);
    expect((await poll(none, b, 'ben', 1)).status).toBe(200);
  });
});

describe('wrong admin keys', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ workers: 0, api: { adminMaxFailures: 3 } });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('are throttled per address: past the limit even the right key waits out the minute', async () => {
    const create = (key: string) =>
      request(stack.baseUrl, 'POST', '/v1/events', { json: { name: 'E', capacity: 1 }, headers: { authorization: `Bearer ${key}` } });
    expect((await create(ADMIN_KEY)).status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await create(`guess-${i}`)).status).toBe(401);
    const blocked = await create(ADMIN_KEY);
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await request(stack.baseUrl, 'GET', '/admin/queues', { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(429);
  });
});

describe('wrong admin keys on user routes (AUTH_MODE=jwt)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      workers: 0,
      api: { adminMaxFailures: 2, auth: { mode: 'jwt', jwtSecret: 'limits-test-secret-of-at-least-32-chars' } },
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('count too: the admin key, which reads any booking there, cannot be guessed through them', async () => {
    const read = (key: string) =>
      request(stack.baseUrl, 'GET', '/v1/bookings/Xk2f9QvLr0aB7cD1eF3gHw', { headers: { authorization: `Bearer ${key}` } });
    expect((await read(ADMIN_KEY)).status).toBe(404);
    // A token-shaped bearer is a (bad) token, not a guess of the key: not counted.
    for (let i = 0; i < 3; i++) expect((await read(`a.b.c${i}`)).status).toBe(401);
    expect((await read(ADMIN_KEY)).status).toBe(404);
    for (let i = 0; i < 2; i++) expect((await read(`guess-${i}`)).status).toBe(401);
    const blocked = await read(ADMIN_KEY);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await request(stack.baseUrl, 'POST', '/v1/events', { json: { name: 'E', capacity: 1 }, admin: true })).status).toBe(429);
  });
});
