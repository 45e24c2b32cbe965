import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { type ApiHandle, startApi } from '@booking/api';
import { newRequestId } from '@booking/domain';
import { type TestDatabase, createTestDatabase, testLogger, uniquePrefix } from '@booking/test-support';
import { type WorkerHandle, startWorker } from '@booking/worker';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { awaitDecision, createEvent } from './http.ts';
import { type RawResponse, call, expectProblem, rowCounts } from './route-helpers.ts';
import { ADMIN_KEY } from './stack.ts';

// This file runs its own redis-server on a free loopback port and kills it; the shared Redis the
// other test files use is never touched.

/** A free TCP port on 127.0.0.1 (not 6379). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (port !== 6379) return port;
  }
}

/** Whether a Redis on `port` answers PING. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

/** A redis-server child process of this test file, without persistence, in a temp dir. */
class PrivateRedis {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private output = '';
  private readonly killOnExit = () => this.child?.kill('SIGKILL');

  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('private redis already running');
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', this.dir],
      { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => (this.output = (this.output + c.toString()).slice(-4000)));
    child.stderr?.on('data', (c: Buffer) => (this.output = (this.output + c.toString()).slice(-4000)));
    let gone = false;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        gone = true;
        resolve();
      });
      child.once('error', () => {
        gone = true;
        resolve();
      });
    });
    // If the test process dies without running afterAll, take the server with it.
    process.once('exit', this.killOnExit);
    const deadline = Date.now() + 10_000;
    while (!(await pong(this.port))) {
      if (gone || Date.now() > deadline) {
        await this.kill();
        throw new Error(`private redis-server did not start on port ${this.port}:\n${this.output}`);
      }
      await sleep(25);
    }
  }

  /** SIGKILL: the server vanishes without a word, as in a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
    process.off('exit', this.killOnExit);
    this.child = undefined;
  }
}

/** Runs a request and measures it client-side, body included. */
async function timed(send: () => Promise<RawResponse>): Promise<{ res: RawResponse; ms: number }> {
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

function expectUnavailable(res: RawResponse): void {
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
    database = await createTestDatabase(10);
    const prefix = uniquePrefix();
    const logger = testLogger();
    const settings = { url: redis.url, cluster: false };
    worker = await startWorker({
      db: database.db,
      redis: settings,
      prefix,
      logger,
      maxEvents: 100,
      lockMs: 10_000,
      refreshMs: 1_000,
      shutdownGraceMs: 5_000,
    });
    api = await startApi({
      db: database.db,
      redis: settings,
      prefix,
      logger,
      adminKey: ADMIN_KEY,
      port: 0,
      host: '127.0.0.1',
      rateLimit: { points: 1_000_000, windowSeconds: 1 },
    });
    baseUrl = `http://127.0.0.1:${api.port}`;
    api.redisBreaker.onStateChange((state) => transitions.push(state));
  });

  afterAll(async () => {
    try {
      // The API and the worker hand work back to Redis as they stop: give them one to talk to.
      if (!redis.running) await redis.start().catch(() => {});
      let t = performance.now();
      await withTimeout(api?.close(), 20_000);
      console.log('api close', performance.now() - t); t = performance.now();
      await withTimeout(worker?.close(), 20_000);
      console.log('worker close', performance.now() - t);
    } finally {
      await redis.kill();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const submit = (userId: string, headers: Record<string, string> = {}, event = eventId) =>
    call(baseUrl, 'POST', `/v1/events/${event}/bookings`, { json: { userId, quantity: 1 }, headers });

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
    expect((await call(baseUrl, 'GET', '/readyz')).status).toBe(200);
    // With Redis up, a request id nobody submitted is simply unknown.
    expect((await call(baseUrl, 'GET', `/v1/booking-requests/${newRequestId(eventId)}?wait=1`)).status).toBe(404);
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
    const poll = await timed(() => call(baseUrl, 'GET', `/v1/booking-requests/${newRequestId(eventId)}?wait=10`));
    expectUnavailable(poll.res);
    expect(poll.ms).toBeLessThan(1000);

    // A cancellation has to go through the event's queue: 503 at once, the booking unchanged.
    const cancel = await timed(() => call(baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`));
    expectUnavailable(cancel.res);
    expect(cancel.ms).toBeLessThan(1000);
    const booking = await call(baseUrl, 'GET', `/v1/bookings/${bookingId}`);
    expect(booking.status).toBe(200);
    expect(booking.body.status).toBe('confirmed');

    // Not ready while Redis is down; alive all the same.
    const ready = await timed(() => call(baseUrl, 'GET', '/readyz'));
    console.log(`[redis-outage] /readyz while down: ${ready.res.status} in ${ready.ms.toFixed(1)} ms`);
    expect(ready.res.status).toBe(503);
    expect(ready.res.headers.get('retry-after')).not.toBeNull();
    expect(ready.res.body).toMatchObject({ checks: { postgres: 'ok', redis: 'unavailable' } });
    expect(ready.ms).toBeLessThan(1000);
    expect((await call(baseUrl, 'GET', '/healthz')).status).toBe(200);
    // Reads that need only PostgreSQL still work.
    expect((await call(baseUrl, 'GET', `/v1/events/${eventId}`)).status).toBe(200);

    await sleep(300);
    expect({ ...(await rowCounts(database!.db)), journal: await journalled() }).toEqual(before);
    expect(api!.redisBreaker.connectionErrors()).toBeGreaterThan(errorsBefore);
  });

  it('resumes on its own when Redis is back: submissions are accepted and decided again', async () => {
    await sleep(500);
    const restarted = performance.now();
    await redis.start();

    let accepted: RawResponse | undefined;
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

    const cancel = await call(baseUrl, 'POST', `/v1/bookings/${bookingId}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    expect((await call(baseUrl, 'GET', '/readyz')).status).toBe(200);

    const event = await call(baseUrl, 'GET', `/v1/events/${eventId}`);
    expect(event.body.available).toBe(100 - 6);
  });
});
