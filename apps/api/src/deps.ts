import type { Db } from '@booking/db';
import type { ApiMetrics, Logger, Registry } from '@booking/observability';
import type { AdmissionGate, DecisionHub } from '@booking/queue';

import type { SubmissionDeps } from './booking-submission.ts';
import type { EventCache } from './event-cache.ts';
import type { QueueBoard } from './queue-board.ts';
import type { QueueRegistry } from './queue-registry.ts';
import type { UserRateLimiter } from './rate-limit.ts';
import type { RedisBreaker } from './redis-breaker.ts';

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
  /** The admin queue dashboard (`/admin/queues`). */
  queueBoard: QueueBoard;
  hub: DecisionHub;
  gate: AdmissionGate;
  submission: SubmissionDeps;
  rateLimiter: UserRateLimiter;
  /** The circuit breaker every request-path Redis call goes through: `state()`, `onStateChange`, error count. */
  redisBreaker: RedisBreaker;
  /** Resolves when Redis answers. */
  pingRedis: () => Promise<void>;
  /** Upper bound for waiting on a cancellation to be applied (ms). */
  cancelWaitMs: number;
}
