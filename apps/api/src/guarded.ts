import {
  AdmissionGate,
  type AdmitInput,
  type AdmitResult,
  type BookingRequestData,
  type JobData,
  type PendingRequest,
  type RedisClient,
} from '@booking/queue';
import type { Job } from 'bullmq';

import { QueueRegistry } from './queue-registry.ts';
import type { RedisBreaker } from './redis-breaker.ts';

// The request path's Redis calls, each named here and run through the circuit breaker, so that a
// Redis outage answers 503 at once. Compensating calls (the gate's `release`, deleting an
// idempotency key after a failed enqueue) stay outside it: an open breaker must not stop them from
// undoing a half-done submission, and against a dead Redis they fail at once anyway (no offline
// queue).

type Breaker = Pick<RedisBreaker, 'run'>;

/** The admission gate with the calls a submission or a read makes behind the breaker. */
export class GuardedGate extends AdmissionGate {
  constructor(
    redis: RedisClient,
    prefix: string,
    enabled: boolean,
    private readonly breaker: Breaker,
  ) {
    super(redis, prefix, enabled);
  }

  override open(eventId: string, capacity: number): Promise<void> {
    return this.breaker.run(() => super.open(eventId, capacity));
  }

  override admit(input: AdmitInput): Promise<AdmitResult> {
    return this.breaker.run(() => super.admit(input));
  }

  override pending(eventId: string, requestId: string): Promise<PendingRequest | undefined> {
    return this.breaker.run(() => super.pending(eventId, requestId));
  }

  override seatsReturned(eventId: string, bookingId: string): Promise<boolean> {
    return this.breaker.run(() => super.seatsReturned(eventId, bookingId));
  }
}

/** The event queues with their job adds behind the breaker. */
export class GuardedQueues extends QueueRegistry {
  constructor(
    connection: RedisClient,
    prefix: string,
    onQueued: (eventId: string) => void,
    private readonly breaker: Breaker,
  ) {
    super(connection, prefix, onQueued);
  }

  override enqueueBooking(eventId: string, request: BookingRequestData): Promise<void> {
    return this.breaker.run(() => super.enqueueBooking(eventId, request));
  }

  override enqueue(eventId: string, jobId: string, data: JobData, front = false): Promise<Job> {
    return this.breaker.run(() => super.enqueue(eventId, jobId, data, front));
  }
}

/** Idempotency records of submissions in Redis: reads and writes behind the breaker, deletes (compensation) not. */
export interface IdempotencyStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(key: string): Promise<void>;
}

export function idempotencyStore(redis: RedisClient, breaker: Breaker): IdempotencyStore {
  return {
    get: (key) => breaker.run(() => redis.get(key)),
    set: async (key, value, ttlSeconds) => {
      await breaker.run(() => redis.set(key, value, 'EX', ttlSeconds));
    },
    del: async (key) => {
      await redis.del(key);
    },
  };
}
