import { Counter, Histogram, type Registry } from 'prom-client';

import { LATENCY_BUCKETS, once } from './metrics.ts';

/** The API's metrics. */
export function apiMetrics(registry: Registry) {
  return {
    attempts: once(
      registry,
      'booking_attempts_total',
      () => new Counter({ name: 'booking_attempts_total', help: 'Booking submissions received', registers: [registry] }),
    ),
    admissionRejected: once(
      registry,
      'admission_rejected_total',
      () =>
        new Counter({
          name: 'admission_rejected_total',
          help: 'Submissions answered at the door without being queued, by reason',
          labelNames: ['reason'] as const,
          registers: [registry],
        }),
    ),
    submissionSeconds: once(
      registry,
      'booking_submission_duration_seconds',
      () =>
        new Histogram({
          name: 'booking_submission_duration_seconds',
          help: 'Time to answer a booking submission, by HTTP status',
          labelNames: ['status'] as const,
          buckets: LATENCY_BUCKETS,
          registers: [registry],
        }),
    ),
    httpSeconds: once(
      registry,
      'http_request_duration_seconds',
      () =>
        new Histogram({
          name: 'http_request_duration_seconds',
          help: 'HTTP request duration by route and status',
          labelNames: ['method', 'route', 'status'] as const,
          buckets: LATENCY_BUCKETS,
          registers: [registry],
        }),
    ),
    cacheHits: once(
      registry,
      'event_cache_hits_total',
      () => new Counter({ name: 'event_cache_hits_total', help: 'Event lookups answered from memory', registers: [registry] }),
    ),
    cacheMisses: once(
      registry,
      'event_cache_misses_total',
      () => new Counter({ name: 'event_cache_misses_total', help: 'Event lookups that went to Postgres', registers: [registry] }),
    ),
    redisErrors: once(
      registry,
      'redis_connection_errors_total',
      () =>
        new Counter({ name: 'redis_connection_errors_total', help: 'Redis connection errors seen by this process', registers: [registry] }),
    ),
  };
}
export type ApiMetrics = ReturnType<typeof apiMetrics>;
