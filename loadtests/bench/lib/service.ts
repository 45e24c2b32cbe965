// The real service, in this process: `startApi` + `startWorker`, each on a pg pool of its own, sized and
// configured from the environment as `npm start` wires them (the tests' in-process stack,
// @booking/test-support/stack, sets them up for tests instead).
import { randomBytes } from 'node:crypto';

import { type ApiHandle, startApi } from '@booking/api';
import { housekeepingIntervalMs, rolePoolSizes, type ServerEnv } from '@booking/config';
import { createDb } from '@booking/db';
import { createLogger, MetricsRegistry } from '@booking/observability';
import type { RedisSettings } from '@booking/queue';
import { createEventOver } from '@booking/test-support/http';
import { startWorker, type WorkerHandle } from '@booking/worker';
import type pg from 'pg';

export interface ServiceOptions {
  databaseUrl: string;
  redis: RedisSettings;
  prefix: string;
  /** Sizes, limits and timings as the server reads them from its environment. */
  env: ServerEnv;
  /** The admission gate (`409 SOLD_OUT` at the door); on by default, as in production. */
  admissionGate?: boolean;
}

export interface Service {
  baseUrl: string;
  adminKey: string;
  /** The API's pg pool (the worker has one of its own). */
  pool: pg.Pool;
  /** Creates an event through the admin API (with `extra` fields: holdSeconds, waitlistLimit, ...); returns its id. */
  createEvent(name: string, capacity: number, extra?: Record<string, unknown>): Promise<string>;
  /** Worker transactions deciding requests, and the requests they decided, so far (group commit). */
  decisionStats(): Promise<{ transactions: number; decisions: number }>;
  /** Stops the API, then the worker, then closes the pool (idempotent). */
  stop(): Promise<void>;
}

/** Starts a worker and an API (on a free loopback port) in this process. */
export async function startService(o: ServiceOptions): Promise<Service> {
  const logLevel = process.env.BENCH_LOG_LEVEL;
  const logger = createLogger({ level: logLevel ?? 'error', service: 'bench', silent: !logLevel });
  const adminKey = `bench-${randomBytes(12).toString('hex')}`;
  // DATABASE_POOL_SIZE connections in all, a pool for each role, as `npm start` shares them.
  const sizes = rolePoolSizes(o.env.DATABASE_POOL_SIZE);
  const { db, pool } = createDb({ url: o.databaseUrl, poolSize: sizes.api, applicationName: 'booking-bench-api' });
  const workerDb = createDb({ url: o.databaseUrl, poolSize: sizes.worker, applicationName: 'booking-bench-worker' });
  // One registry for both roles, as in `npm start`.
  const registry = new MetricsRegistry();
  let worker: WorkerHandle | undefined;
  let api: ApiHandle | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await api?.close();
      await worker?.close();
      await Promise.all([db.destroy(), workerDb.db.destroy()]);
    })());
  try {
    worker = await startWorker({
      db: workerDb.db,
      redis: o.redis,
      prefix: o.prefix,
      logger,
      maxEvents: o.env.WORKER_CONCURRENCY_EVENTS,
      lockMs: o.env.WORKER_LOCK_MS,
      housekeepingMs: housekeepingIntervalMs(o.env),
      shutdownGraceMs: o.env.SHUTDOWN_GRACE_MS,
      registry,
      pool: workerDb.pool,
    });
    api = await startApi({
      db,
      redis: o.redis,
      prefix: o.prefix,
      logger,
      adminKey,
      port: 0,
      host: '127.0.0.1',
      admissionGate: o.admissionGate ?? true,
      idempotencyTtlSeconds: o.env.IDEMPOTENCY_TTL_SECONDS,
      rateLimit: { points: o.env.RATE_LIMIT_POINTS, windowSeconds: o.env.RATE_LIMIT_WINDOW_SECONDS },
      registry,
      pool,
    });
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  const baseUrl = `http://127.0.0.1:${api.port}`;
  const w = worker;
  return {
    baseUrl,
    adminKey,
    pool,
    stop,
    async decisionStats() {
      const text = await registry.metrics();
      const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
      return {
        transactions: value('booking_decisions_per_transaction_count'),
        decisions: value('booking_decisions_per_transaction_sum'),
      };
    },
    async createEvent(name, capacity, extra) {
      const eventId = await createEventOver(baseUrl, adminKey, name, capacity, extra);
      // The API announces the event to the workers; nudge ours directly as well, so it is ready (or,
      // where workers take an event when its first job arrives, looks at it now).
      await w.serve(eventId);
      return eventId;
    },
  };
}
