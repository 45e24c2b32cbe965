import { Counter, Histogram, type Registry } from 'prom-client';

import { LATENCY_BUCKETS, once } from './metrics.ts';

/** The worker's metrics. */
export function workerMetrics(registry: Registry) {
  return {
    success: once(
      registry,
      'booking_success_total',
      () => new Counter({ name: 'booking_success_total', help: 'Booking requests confirmed', registers: [registry] }),
    ),
    conflicts: once(
      registry,
      'booking_conflicts_total',
      () =>
        new Counter({
          name: 'booking_conflicts_total',
          help: 'Booking requests rejected by the worker, by reason',
          labelNames: ['reason'] as const,
          registers: [registry],
        }),
    ),
    cancellations: once(
      registry,
      'booking_cancellations_total',
      () => new Counter({ name: 'booking_cancellations_total', help: 'Cancellations applied', registers: [registry] }),
    ),
    dbRetries: once(
      registry,
      'db_retry_attempts_total',
      () =>
        new Counter({
          name: 'db_retry_attempts_total',
          help: 'Database operations retried after a transient failure',
          registers: [registry],
        }),
    ),
    queueWaitSeconds: once(
      registry,
      'booking_queue_wait_seconds',
      () =>
        new Histogram({
          name: 'booking_queue_wait_seconds',
          help: 'Time from acceptance until the worker starts deciding a request',
          buckets: LATENCY_BUCKETS,
          registers: [registry],
        }),
    ),
    decisionLatencySeconds: once(
      registry,
      'booking_decision_latency_seconds',
      () =>
        new Histogram({
          name: 'booking_decision_latency_seconds',
          help: 'Time from acceptance until the decision is durable',
          buckets: LATENCY_BUCKETS,
          registers: [registry],
        }),
    ),
    decisionsPerTransaction: once(
      registry,
      'booking_decisions_per_transaction',
      () =>
        new Histogram({
          name: 'booking_decisions_per_transaction',
          help: 'Decisions recorded per Postgres transaction',
          buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
          registers: [registry],
        }),
    ),
    gateRebuilds: once(
      registry,
      'admission_gate_rebuilds_total',
      () =>
        new Counter({
          name: 'admission_gate_rebuilds_total',
          help: 'Admission gate rebuilds from Postgres, by reason',
          labelNames: ['reason'] as const,
          registers: [registry],
        }),
    ),
    holdsConfirmed: once(
      registry,
      'booking_holds_confirmed_total',
      () => new Counter({ name: 'booking_holds_confirmed_total', help: 'Held bookings confirmed at checkout', registers: [registry] }),
    ),
    holdsExpired: once(
      registry,
      'booking_holds_expired_total',
      () =>
        new Counter({
          name: 'booking_holds_expired_total',
          help: 'Held bookings expired unconfirmed, their seats returned',
          registers: [registry],
        }),
    ),
    waitlistPromoted: once(
      registry,
      'booking_waitlist_promoted_total',
      () =>
        new Counter({
          name: 'booking_waitlist_promoted_total',
          help: 'Waiting-list entries confirmed with seats that came back',
          registers: [registry],
        }),
    ),
    recovered: once(
      registry,
      'booking_requests_recovered_total',
      () =>
        new Counter({
          name: 'booking_requests_recovered_total',
          help: 'Accepted requests Redis had lost, decided from the journal',
          registers: [registry],
        }),
    ),
  };
}
export type WorkerMetrics = ReturnType<typeof workerMetrics>;
