import {
  type EventLeases,
  eventQueueName,
  eventsChannel,
  type ExpireJobData,
  expireJobId,
  type JobData,
  KEEP_FAILED_JOBS,
  type RecoverJobData,
  recoverJobId,
  type RedisClient,
} from '@booking/queue';
import { Queue } from 'bullmq';

export interface MaintenanceJobsOptions {
  /** Shared connection for non-blocking commands. */
  connection: RedisClient;
  prefix: string;
  leases: EventLeases;
}

/**
 * The jobs the worker puts in an event's own queue, so that they are decided in order with its
 * bookings by whoever holds the event: a recovery (what Redis lost) and an expiry of due holds.
 */
export class MaintenanceJobs {
  constructor(private readonly opts: MaintenanceJobsOptions) {}

  /** Queues a recovery of the event (at the back: after the work already waiting). */
  recovery(eventId: string, queue?: Queue): Promise<void> {
    const data: RecoverJobData = { kind: 'recover', eventId };
    return this.add(data, recoverJobId(eventId), false, queue);
  }

  /**
   * Queues the expiry of the event's due holds at the front of its queue (LIFO): what is overdue is
   * expired before the work waiting, and a confirm waiting behind it would find the hold overdue anyway.
   */
  expiry(eventId: string, queue?: Queue): Promise<void> {
    const data: ExpireJobData = { kind: 'expire', eventId };
    return this.add(data, expireJobId(eventId), true, queue);
  }

  /** Adds a job to the event's queue (one with the same id pending is left as it is) and marks the event ready. */
  private async add(data: JobData, jobId: string, lifo: boolean, queue?: Queue): Promise<void> {
    const { eventId } = data;
    const own = queue ?? new Queue(eventQueueName(eventId), { connection: this.opts.connection, prefix: this.opts.prefix });
    try {
      // A failed expiry is not kept: its id would keep the next one from being queued.
      await own.add(data.kind, data, { jobId, lifo, removeOnComplete: true, removeOnFail: lifo ? true : KEEP_FAILED_JOBS });
    } finally {
      if (!queue) await own.close().catch(() => {});
    }
    if (await this.opts.leases.markReady(eventId)) {
      await this.opts.connection.publish(eventsChannel(this.opts.prefix), eventId);
    }
  }
}
