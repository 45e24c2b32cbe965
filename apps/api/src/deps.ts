import type { Db } from '@booking/db';
import type { ApiMetrics, Logger, Registry } from '@booking/observability';
import type { AdmissionGate, DecisionHub } from '@booking/queue';

import type { SubmissionDeps } from './booking-submission.ts';
import type { EventCache } from './event-cache.ts';
import type { QueueRegistry } from './queue-registry.ts';
import type { UserRateLimiter } from './rate-limit.ts';

/** Everything the HTTP layer uses, built by `startApi` (or by a test). */
export interface ApiDeps {
  db: Db;
  logger: Logger;
  registry: Registry;
  metrics: ApiMetrics;
  adminKey: string;
  bodyLimitBytes: number;
  events: EventCache;
  queues: QueueRegistry;
  hub: DecisionHub;
  gate: AdmissionGate;
  submission: SubmissionDeps;
  rateLimiter: UserRateLimiter;
  /** Tells the workers about a new event at once (best effort: they also poll). */
  announceEvent: (eventId: string) => Promise<void>;
  /** Resolves when Redis answers. */
  pingRedis: () => Promise<void>;
  /** Upper bound for waiting on a cancellation to be applied (ms). */
  cancelWaitMs: number;
}
