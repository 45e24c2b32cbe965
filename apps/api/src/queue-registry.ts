import { AppError } from '@booking/domain';
import { type JobData, type RedisClient, eventQueueName } from '@booking/queue';
import { type Job, Queue } from 'bullmq';

import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './middleware/problem.ts';

/** How long a queue call may take before the caller gets a 503 instead of a hang. */
const QUEUE_CALL_TIMEOUT_MS = 2_000;

async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AppError('UNAVAILABLE', `${what} timed out; try again shortly`, {
            retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
          }),
        ),
      QUEUE_CALL_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The ingress's handles on event queues, all sharing one fail-fast Redis connection. Queue objects
 * are cheap but not free; the least recently used are closed beyond `maxQueues`.
 */
export class QueueRegistry {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: RedisClient,
    private readonly prefix: string,
    private readonly maxQueues = 10_000,
  ) {}

  /** Adds a job to the event's queue; an existing job with the same id is left as it is. */
  async enqueue(eventId: string, jobId: string, data: JobData): Promise<Job> {
    return bounded(
      this.queue(eventId).add(data.kind, data, { jobId, removeOnComplete: true, removeOnFail: false }),
      'enqueueing',
    );
  }

  /** The job with this id in the event's queue, if it is still there (pending or in progress). */
  async findJob(eventId: string, jobId: string): Promise<Job | undefined> {
    return bounded(this.queue(eventId).getJob(jobId), 'reading the queue');
  }

  async close(): Promise<void> {
    const all = [...this.queues.values()];
    this.queues.clear();
    await Promise.allSettled(all.map((q) => q.close()));
  }

  private queue(eventId: string): Queue {
    let queue = this.queues.get(eventId);
    if (queue) {
      this.queues.delete(eventId);
      this.queues.set(eventId, queue);
      return queue;
    }
    queue = new Queue(eventQueueName(eventId), { connection: this.connection, prefix: this.prefix });
    queue.on('error', () => {});
    this.queues.set(eventId, queue);
    if (this.queues.size > this.maxQueues) {
      const [oldestId, oldest] = this.queues.entries().next().value as [string, Queue];
      this.queues.delete(oldestId);
      void oldest.close();
    }
    return queue;
  }
}
