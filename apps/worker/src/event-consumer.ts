import type { Logger } from '@booking/observability';
import { type EventLeases, eventQueueName, eventsChannel, type Lease, type RedisClient } from '@booking/queue';
import { type Job, Queue, Worker } from 'bullmq';

import { followingJobs } from './following-jobs.ts';
import type { BookingProcessor } from './processor.types.ts';
import type { SaleEnds } from './sale-ends.ts';

export interface ConsumerDeps {
  /** Shared connection for non-blocking commands; BullMQ duplicates it for each blocking one. */
  connection: RedisClient;
  prefix: string;
  logger: Logger;
  processor: BookingProcessor;
  leases: EventLeases;
  lockMs: number;
  /** Removing the Redis keys of events whose sale is over (when let go idle). */
  saleEnds?: SaleEnds;
}

/** Why an event is let go: each asks for a different goodbye. */
export type LetGoReason = 'idle' | 'turn' | 'share' | 'lost' | 'fenced' | 'shutdown';

/** One event's consumer: its queue, its BullMQ worker (concurrency 1) and what the scheduling needs to know. */
export interface EventConsumer {
  eventId: string;
  lease: Lease;
  queue: Queue;
  worker: Worker;
  acquiredAt: number;
  lastBusyAt: number;
  busy: boolean;
  /** Set while the event is being let go. */
  leaving?: Promise<void>;
  /** The lease was lost or fenced off: nothing more may be decided under it. */
  revoked?: boolean;
}

/** Opens the consumer of the event whose lease is `lease`; undefined when its queue cannot be opened. */
export async function openConsumer(deps: ConsumerDeps, lease: Lease): Promise<EventConsumer | undefined> {
  const { eventId } = lease;
  const name = eventQueueName(eventId);
  const { connection, prefix, logger } = deps;
  const queue = new Queue(name, { connection, prefix });
  queue.on('error', () => {});
  try {
    // Belt and braces: one job at a time per event even if two workers ever served it together.
    await queue.setGlobalConcurrency(1);
  } catch (err) {
    logger.warn('could not open event queue', { eventId, error: (err as Error).message });
    await queue.close().catch(() => {});
    return undefined;
  }
  // Each job is decided together with the booking jobs queued behind it (group commit across jobs).
  const processor = (job: Job, token?: string) =>
    deps.processor(job, token ? followingJobs({ connection, prefix, eventId, worker, held: job, token, lockMs: deps.lockMs }) : undefined);
  const worker: Worker = new Worker(name, processor, {
    connection,
    prefix,
    concurrency: 1,
    lockDuration: deps.lockMs,
    stalledInterval: Math.max(500, Math.floor(deps.lockMs / 2)),
    // A job whose worker died is handed to another however often that happens: it is never dropped.
    maxStalledCount: Number.MAX_SAFE_INTEGER,
    drainDelay: 5,
  });
  const now = Date.now();
  const consumer: EventConsumer = { eventId, lease, queue, worker, acquiredAt: now, lastBusyAt: now, busy: false };
  worker.on('active', () => {
    consumer.busy = true;
    consumer.lastBusyAt = Date.now();
  });
  const idle = () => {
    consumer.busy = false;
    consumer.lastBusyAt = Date.now();
  };
  worker.on('completed', idle);
  worker.on('failed', (job, err) => {
    idle();
    logger.error('job failed', { eventId, jobId: job?.id, error: err.message });
  });
  worker.on('error', (err) => logger.warn('worker error', { eventId, error: err.message }));
  logger.debug('serving event', { eventId, epoch: lease.epoch });
  return consumer;
}

/**
 * Stops consuming an event: gracefully (the job in progress finishes) unless `force`, then gives the
 * lease back (unless it was lost or fenced). A forced stop leaves the job in progress to expire and
 * be taken over. Resolves once the consumer is closed; calling it again returns the same promise,
 * except that a forced call stops waiting for the job in progress. `onGone` (of the first call) runs
 * last, before it resolves.
 */
export function letGo(
  deps: ConsumerDeps,
  c: EventConsumer,
  how: { force?: boolean; requeue?: boolean; why: LetGoReason },
  onGone: () => void,
): Promise<void> {
  if (how.why === 'lost' || how.why === 'fenced') c.revoked = true;
  // Already being let go gracefully, and now it must be at once: stop waiting for the job.
  if (c.leaving && how.force) void c.worker.close(true).catch(() => {});
  c.leaving ??= (async () => {
    deps.logger.debug('letting event go', { eventId: c.eventId, epoch: c.lease.epoch, why: how.why });
    // A graceful close waits for the job in progress; should it hang (a connection that never
    // answers), force it after twice the lock time: the job is then taken over like a dead worker's.
    let timer: NodeJS.Timeout | undefined;
    const closed = c.worker.close(how.force ?? false).then(
      () => true,
      () => true,
    );
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), 2 * deps.lockMs);
    });
    if (!(await Promise.race([closed, timedOut]))) {
      deps.logger.warn('event worker did not close in time; forcing', { eventId: c.eventId });
      await c.worker.close(true).catch(() => {});
    }
    clearTimeout(timer);
    await c.queue.close().catch(() => {});
    // Idle after its sale: nothing of the event need stay in Redis (its lease goes with its keys).
    if (how.why === 'idle' && deps.saleEnds) {
      await deps.saleEnds.purgeIfOver(c.lease).catch((err: Error) => {
        deps.logger.warn('could not remove the keys of an ended sale', { eventId: c.eventId, error: err.message });
      });
    }
    if (how.why !== 'lost' && how.why !== 'fenced') await deps.leases.release(c.lease).catch(() => {});
    if (how.requeue) await deps.leases.requeue(c.eventId).catch(() => {});
    // Handed on with work left: tell the other workers, which may have noted it as held.
    if (how.why === 'share' || how.why === 'turn') {
      await deps.connection.publish(eventsChannel(deps.prefix), c.eventId).catch(() => 0);
    }
    onGone();
  })();
  return c.leaving;
}
