import type { Db } from '@booking/db';
import type { Logger, WorkerMetrics } from '@booking/observability';
import type { DecisionMessage } from '@booking/queue';
import type { Job } from 'bullmq';

import type { GateKeeper } from './gate-keeper.ts';

/**
 * The jobs of an event's queue that the worker may take together with the one in hand: the booking
 * jobs queued right behind it, made active under the same lock, completed once decided.
 */
export interface FollowingJobs {
  /**
   * Takes the jobs of `kind` (`book` by default) queued right behind the job in hand, in the order
   * they would be processed, at most `maxRequests` requests (a job other than `book` counts as one).
   */
  take(maxRequests: number, kind?: 'book' | 'confirm'): Promise<Job[]>;
  /** Keeps the taken jobs' locks fresh until the returned function is called. */
  keepLocked(jobs: Job[]): () => void;
  /** Completes taken jobs whose requests are decided (one round trip). */
  complete(jobs: Job[]): Promise<void>;
  /** Fails a taken job for good (its payload cannot be read). */
  fail(job: Job, error: Error): Promise<void>;
}

export interface ProcessorDeps {
  db: Db;
  logger: Logger;
  metrics: WorkerMetrics;
  /** The worker's side of the admission gate (settlements, rebuilds); the gate itself is an AdmissionGate. */
  keeper: GateKeeper;
  /** Publishes a message once the decisions it carries are durable. */
  publish: (message: DecisionMessage) => Promise<void>;
  /** Aborted on forced shutdown. */
  signal: AbortSignal;
  /** The fencing epoch of this worker's lease on the event; undefined when it holds none. */
  epochOf: (eventId: string) => number | undefined;
  /** Postgres refused the epoch: another worker has taken the event over. */
  onFenced: (eventId: string) => void;
}

/** Decides an event's job, with the jobs queued behind it when `following` is given. */
export type BookingProcessor = (job: Job, following?: FollowingJobs) => Promise<void>;
