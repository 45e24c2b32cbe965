import { AppError } from '@booking/domain';
import {
  type BookingRequestData,
  type BookJobData,
  eventQueueName,
  type JobData,
  KEEP_FAILED_JOBS,
  MAX_REQUESTS_PER_JOB,
  type RedisClient,
} from '@booking/queue';
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

/** How long a request may wait for company when its event's previous job was added under LINGER_AFTER_ADD_MS ago. */
const LINGER_MS = 2;
const LINGER_AFTER_ADD_MS = 20;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Adds an event's booking requests to its queue, many per job when they arrive together: while one
 * job is being added, the requests that come in gather for the next. Light traffic gets one job per
 * request and no added wait; a sale's peak gets large jobs that the worker decides in one
 * transaction. A request is answered only after its job is in the queue, so order holds: a request
 * sent after another's 202 lands in a later job.
 */
class EventBatcher {
  private gathering: BookingRequestData[] = [];
  private waiters: Waiter[] = [];
  private adding = false;
  private lingering = false;
  /** When the previous job of this event was added (ms, monotonic). */
  private lastAddedAt = -Infinity;

  constructor(
    private readonly eventId: string,
    private readonly queue: () => Queue,
    private readonly onQueued: (eventId: string) => void,
  ) {}

  add(request: BookingRequestData): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.gathering.push(request);
      this.waiters.push({ resolve, reject });
      if (this.adding || this.lingering) return;
      // Traffic is flowing (a job was added a moment ago): linger a little so the next job carries
      // more than one request; an isolated request goes at once.
      if (performance.now() - this.lastAddedAt < LINGER_AFTER_ADD_MS) {
        this.lingering = true;
        setTimeout(() => {
          this.lingering = false;
          if (!this.adding) this.flush();
        }, LINGER_MS);
        return;
      }
      this.flush();
    });
  }

  private flush(): void {
    const requests = this.gathering.splice(0, MAX_REQUESTS_PER_JOB);
    const waiters = this.waiters.splice(0, requests.length);
    if (requests.length === 0) return;
    this.adding = true;
    const data: BookJobData = { kind: 'book', eventId: this.eventId, requests };
    bounded(this.queue().add('book', data, { removeOnComplete: true, removeOnFail: KEEP_FAILED_JOBS }), 'enqueueing')
      .then(
        () => {
          this.lastAddedAt = performance.now();
          this.onQueued(this.eventId);
          waiters.forEach((w) => w.resolve());
        },
        (err: unknown) => waiters.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.adding = false;
        if (this.gathering.length > 0) this.flush();
      });
  }
}

/**
 * The ingress's handles on event queues, all sharing one fail-fast Redis connection. Queue objects
 * are cheap but not free; the least recently used are closed beyond `maxQueues`.
 */
export class QueueRegistry {
  private readonly queues = new Map<string, Queue>();
  private readonly batchers = new Map<string, EventBatcher>();

  /**
   * @param onQueued called after each job is added (not before): marks the event as having work for
   *   the workers.
   */
  constructor(
    private readonly connection: RedisClient,
    private readonly prefix: string,
    private readonly onQueued: (eventId: string) => void = () => {},
    private readonly maxQueues = 10_000,
  ) {}

  /** Adds a booking request to its event's queue; resolves once it is there. */
  async enqueueBooking(eventId: string, request: BookingRequestData): Promise<void> {
    let batcher = this.batchers.get(eventId);
    if (!batcher) {
      batcher = new EventBatcher(eventId, () => this.queue(eventId), this.onQueued);
      this.batchers.set(eventId, batcher);
    }
    await batcher.add(request);
  }

  /**
   * Adds a job to the event's queue; an existing job with the same id is left as it is. With
   * `front`, it goes ahead of the jobs waiting (as the worker queues hold expiries): a checkout must
   * be applied before its hold expires, whatever backlog of admissions a sale has queued.
   */
  async enqueue(eventId: string, jobId: string, data: JobData, front = false): Promise<Job> {
    const job = await bounded(
      this.queue(eventId).add(data.kind, data, { jobId, lifo: front, removeOnComplete: true, removeOnFail: KEEP_FAILED_JOBS }),
      'enqueueing',
    );
    this.onQueued(eventId);
    return job;
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
      this.batchers.delete(oldestId);
      void oldest.close().catch(() => {});
    }
    return queue;
  }
}
