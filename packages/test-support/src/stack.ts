import { type ApiHandle, type ApiOptions, startApi } from '@booking/api';
import type { Db } from '@booking/db';
import { MetricsRegistry } from '@booking/observability';
import type { RedisSettings } from '@booking/queue';
import { startWorker, type WorkerHandle } from '@booking/worker';

import { createTestDatabase, type TestDatabase } from './database.ts';
import { TEST_REDIS_URL } from './env.ts';
import { ADMIN_KEY } from './http.ts';
import { testLogger } from './logger.ts';
import { deleteKeys, uniquePrefix } from './redis.ts';

// One API and N workers in this process, for tests (imported as @booking/test-support/stack, so that
// the other helpers load neither the API nor the worker).

export { ADMIN_KEY };

export interface StackOptions {
  workers?: number;
  lockMs?: number;
  cancelWaitMs?: number;
  /** false: every request is queued and decided by a worker (to stress the workers). Default true. */
  admissionGate?: boolean;
  rateLimit?: { points: number; windowSeconds: number };
  /** A database of the caller's (e.g. on a private server); the caller drops it. */
  database?: TestDatabase;
  /** Another Redis (e.g. a private Redis Cluster) instead of TEST_REDIS_URL; its keys are left to its owner. */
  redis?: RedisSettings;
  /** More options of the API (identity, per-address limit, long-poll bounds, ...). */
  api?: Partial<ApiOptions>;
}

/** One API and N workers in this process, on a database and a Redis key space of their own. */
export interface Stack {
  baseUrl: string;
  db: Db;
  database: TestDatabase;
  prefix: string;
  /** The metrics registry the API and the workers share. */
  registry: MetricsRegistry;
  api: ApiHandle;
  workers: WorkerHandle[];
  startWorker(): Promise<WorkerHandle>;
  /** Closes the API and starts a new one on the same database and key space (new port). */
  restartApi(): Promise<void>;
  /** Stops everything, drops the database and deletes the Redis keys. */
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const database = options.database ?? (await createTestDatabase(20));
  const prefix = uniquePrefix();
  const logger = testLogger();
  const redis = options.redis ?? { url: TEST_REDIS_URL, cluster: false };
  const workers: WorkerHandle[] = [];
  // One registry for the API and the workers, as in the single-process server.
  const registry = new MetricsRegistry();
  const addWorker = async () => {
    const w = await startWorker({
      db: database.db,
      redis,
      prefix,
      logger,
      maxEvents: 1000,
      lockMs: options.lockMs ?? 10_000,
      housekeepingMs: 1_000,
      shutdownGraceMs: 5_000,
      registry,
      pool: database.pool,
    });
    workers.push(w);
    return w;
  };
  for (let i = 0; i < (options.workers ?? 1); i++) await addWorker();
  const startOneApi = () =>
    startApi({
      db: database.db,
      redis,
      prefix,
      logger,
      adminKey: ADMIN_KEY,
      port: 0,
      host: '127.0.0.1',
      ...(options.cancelWaitMs ? { cancelWaitMs: options.cancelWaitMs } : {}),
      admissionGate: options.admissionGate ?? true,
      registry,
      pool: database.pool,
      rateLimit: options.rateLimit ?? { points: 1_000_000, windowSeconds: 1 },
      ...options.api,
    });
  let api = await startOneApi();
  const stack: Stack = {
    baseUrl: `http://127.0.0.1:${api.port}`,
    db: database.db,
    database,
    prefix,
    registry,
    api,
    workers,
    startWorker: addWorker,
    async restartApi() {
      await api.close();
      api = await startOneApi();
      stack.api = api;
      stack.baseUrl = `http://127.0.0.1:${api.port}`;
    },
    async close() {
      await api.close();
      await Promise.all(workers.map((w) => w.close()));
      if (!options.database) await database.drop();
      if (!options.redis) await deleteKeys(prefix);
    },
  };
  return stack;
}
