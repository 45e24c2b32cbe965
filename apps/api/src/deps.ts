import type { Db } from '@booking/db';
import type { ApiMetrics, Logger, Registry } from '@booking/observability';
import type { AdmissionGate, DecisionHub } from '@booking/queue';

import type { AdminThrottle } from './auth/admin-throttle.ts';
import type { Authenticator } from './auth/authenticator.ts';
import type { SubmissionDeps } from './booking-submission.ts';
import type { DecisionWait } from './decision-wait.ts';
import type { EventCache } from './event-cache.ts';
import type { LongPollLimits } from './long-poll-limits.ts';
import type { QueueBoard } from './queue-board.ts';
import type { QueueRegistry } from './queue-registry.ts';
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
  /** Reads and awaits booking requests' decisions (long-poll, `Prefer: wait`). */
  decisions: DecisionWait;
  gate: AdmissionGate;
  submission: SubmissionDeps;
  /** The circuit breaker every request-path Redis call goes through: `state()`, `onStateChange`, error count. */
  redisBreaker: RedisBreaker;
  /** Resolves when Redis answers. */
  pingRedis: () => Promise<void>;
  /** Upper bound for waiting on a cancellation to be applied (ms). */
  cancelWaitMs: number;
  /** Who the caller is (`AUTH_MODE`), and whether they hold the admin key. */
  auth: Authenticator;
  /** Failed admin-key attempts per client address. */
  adminThrottle: AdminThrottle;
  /** Bounds on concurrent long-polls, per user and per process. */
  longPolls: LongPollLimits;
  /** Express `trust proxy`: how many proxies' hops of X-Forwarded-For to believe. */
  trustProxy: number;
  /** The headers every answer carries (helmet's). */
  securityHeaders: Record<string, string>;
}
