import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import { claimLeaseEpoch, type Db } from '@booking/db';
import { settledWithin } from '@booking/lifecycle';
import type { Logger } from '@booking/observability';
import { MetricsRegistry, poolMetrics, type Registry, workerMetrics } from '@booking/observability';
import { AdmissionGate, createRedis, decisionsChannel, EventKeys, EventLeases, GateOrphans, type RedisSettings } from '@booking/queue';

import { createBookingProcessor } from './booking.processor.ts';
import { EventSupervisor, type Fencing } from './event-supervisor.ts';
import { GateKeeper } from './gate-keeper.ts';
import { SaleEnds } from './sale-ends.ts';

export interface WorkerOptions {
  db: Db;
  redis: RedisSettings;
  prefix: string;
  logger: Logger;
  maxEvents: number;
  /** How long a worker's hold on a job, and on an event, lasts without renewal (ms). */
  lockMs: number;
  /** How often one worker does the housekeeping (ms). */
  /** How often one worker of all does the housekeeping (HOUSEKEEPING_INTERVAL_MS). */
  housekeepingMs: number;
  /** How often leases are renewed and work is looked for (ms; default 250). */
  tickMs?: number;
  /** How long shutdown waits for jobs in progress before handing them back (ms). */
  shutdownGraceMs?: number;
  /** Where metrics go (shared with the API in a single-process server); a private one by default. */
  registry?: Registry;
  /** The Postgres pool behind `db`, for pool metrics. */
  pool?: { totalCount: number; waitingCount: number; idleCount: number };
}

export interface WorkerHandle {
  /** Ids of the events this worker serves now. */
  readonly eventIds: string[];
  /** This process's id in leases and heartbeats. */
  readonly workerId: string;
  /** Looks for work now instead of at the next tick (marking `eventId` as having work first). */
  serve(eventId?: string): Promise<void>;
  /** Stops taking work, finishes or hands back what it holds, closes its Redis connections. */
  close(): Promise<void>;
}

/**
 * How old a gate record of a request no job carries must be before it counts as an orphan: twice the
 * housekeeping interval, at least 5 s, well past the 2 s in which an API either queues an admitted
 * request or takes its admission back.
 */
export function orphanAfterMs(housekeepingMs: number): number {
  return Math.max(5_000, 2 * housekeepingMs);
}

/** Starts the worker role: decides every event's requests one at a time, in order. */
export async function startWorker(options: WorkerOptions): Promise<WorkerHandle> {
  const connection = createRedis(options.redis, 'worker', 'booking-worker');
  const subscriber = createRedis(options.redis, 'subscriber', 'booking-worker-sub');
  const abort = new AbortController();
  const channel = decisionsChannel(options.prefix);
  const registry = options.registry ?? new MetricsRegistry();
  const metrics = workerMetrics(registry);
  const pool = options.pool;
  if (pool) poolMetrics(registry, () => pool);
  const gate = new AdmissionGate(connection, options.prefix);
  const workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  // Epochs are recorded in Postgres before use, so fencing survives Redis forgetting its counter.
  const leases = new EventLeases(connection, options.prefix, workerId, options.lockMs, {
    claim: (eventId, epoch) => claimLeaseEpoch(options.db, eventId, epoch),
  });
  // Gate records of requests no job carries, older than this, are orphans unless journalled.
  const orphans = { orphans: new GateOrphans(connection, options.prefix), afterMs: orphanAfterMs(options.housekeepingMs) };
  const gateKeeper = new GateKeeper(options.db, gate, options.logger, (reason) => metrics.gateRebuilds.inc({ reason }), undefined, orphans);
  // After its sale, an event's keys go once everything is decided and no admission can be in flight.
  const saleEnds = new SaleEnds({
    db: options.db,
    connection,
    prefix: options.prefix,
    keys: new EventKeys(connection, options.prefix),
    leases,
    graceMs: orphans.afterMs,
    logger: options.logger,
    onPurged: (eventId) => gateKeeper.forget(eventId),
  });
  const processor = (fencing: Fencing) =>
    createBookingProcessor({
      db: options.db,
      logger: options.logger,
      metrics,
      keeper: gateKeeper,
      signal: abort.signal,
      epochOf: (eventId) => fencing.epochOf(eventId),
      onFenced: (eventId) => fencing.fenced(eventId),
      publish: async (message) => {
        await connection.publish(channel, JSON.stringify(message));
      },
    });
  const events = new EventSupervisor({
    db: options.db,
    connection,
    subscriber,
    prefix: options.prefix,
    workerId,
    logger: options.logger,
    processor,
    gate,
    leases,
    maxEvents: options.maxEvents,
    lockMs: options.lockMs,
    ...(options.tickMs ? { tickMs: options.tickMs } : {}),
    housekeepingMs: options.housekeepingMs,
    orphans,
    saleEnds,
  });
  await events.start();
  options.logger.info('worker started', { workerId, events: events.eventIds.length });

  return {
    workerId,
    get eventIds() {
      return events.eventIds;
    },
    serve: (eventId) => events.serve(eventId),
    async close() {
      await events.close(options.shutdownGraceMs ?? 10_000, () => {
        options.logger.warn('shutdown grace expired; handing back jobs in progress');
        abort.abort();
      });
      // QUIT waits for Redis to answer; a Redis that does not gets its connections cut instead.
      await settledWithin(Promise.allSettled([connection.quit(), subscriber.quit()]), 2_000);
      connection.disconnect();
      subscriber.disconnect();
      options.logger.info('worker stopped');
    },
  };
}
