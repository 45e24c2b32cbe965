import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type { Registry } from 'prom-client';
export { Registry as MetricsRegistry } from 'prom-client';

/** Default Node.js process metrics (CPU, memory, event loop lag...) on `registry`; once per process. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters, which `promtool check metrics` rejects; the same figures remain in
  // nodejs_active_handles, nodejs_active_requests and nodejs_active_resources (by type).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
}

// Latency buckets in seconds: sub-millisecond fast paths up to long queue waits of a big sale.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Gets a metric already on the registry (the API and the worker may share one) or creates it. */
function once<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

type PoolStats = { totalCount: number; waitingCount: number; idleCount: number };

/** The pools each registry reports on: one per role, two when both roles run in one process. */
const poolsOf = new WeakMap<Registry, Set<() => PoolStats>>();

/**
 * Metrics both roles expose about their Postgres pool. A process that runs both roles (`npm start`)
 * has a pool for each, so that the API's reads never queue ahead of the worker's decisions; the
 * gauges then report the sum of its pools.
 */
export function poolMetrics(registry: Registry, pool: () => PoolStats) {
  let pools = poolsOf.get(registry);
  if (!pools) poolsOf.set(registry, (pools = new Set()));
  pools.add(pool);
  // A pool given by both roles (one pool for both) counts once.
  const sum = (field: keyof PoolStats) => [...new Set([...pools].map((get) => get()))].reduce((total, p) => total + p[field], 0);
  once(
    registry,
    'db_connection_pool_size',
    () =>
      new Gauge({
        name: 'db_connection_pool_size',
        help: 'Connections open in the Postgres pools of this process',
        registers: [registry],
        collect() {
          this.set(sum('totalCount'));
        },
      }),
  );
  once(
    registry,
    'db_connection_pool_overflow',
    () =>
      new Gauge({
        name: 'db_connection_pool_overflow',
        help: 'Queries waiting for a Postgres connection because a pool of this process is exhausted',
        registers: [registry],
        collect() {
          this.set(sum('waitingCount'));
        },
      }),
  );
}

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

/** Gauges read at scrape time from live state. */
export function gaugeFrom(registry: Registry, name: string, help: string, read: () => number): void {
  once(
    registry,
    name,
    () =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      }),
  );
}

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

/**
 * Per-event gauges, only for events on sale (`read` bounds how many): their series vanish when the
 * sale ends.
 */
export function eventGauges(
  registry: Registry,
  read: () => Promise<Array<{ eventId: string; queueDepth: number; seatsAvailable: number }>>,
): void {
  // One read serves both gauges of a scrape: the first gauge collected starts it, the second takes it.
  type Rows = Array<{ eventId: string; queueDepth: number; seatsAvailable: number }>;
  let shared: Promise<Rows> | undefined;
  const load = (first: boolean): Promise<Rows> => {
    if (first || !shared) {
      shared = read().catch(() => []);
      return shared;
    }
    const rows = shared;
    shared = undefined;
    return rows;
  };
  const perEvent = (name: string, help: string, first: boolean, pick: (r: { queueDepth: number; seatsAvailable: number }) => number) =>
    once(
      registry,
      name,
      () =>
        new Gauge({
          name,
          help,
          labelNames: ['event_id'] as const,
          registers: [registry],
          async collect() {
            const rows = await load(first);
            this.reset();
            for (const r of rows) this.set({ event_id: r.eventId }, pick(r));
          },
        }),
    );
  perEvent('booking_queue_depth', 'Requests waiting or in progress in the queue of each event on sale', true, (r) => r.queueDepth);
  perEvent('booking_seats_available', 'Seats available for each event on sale', false, (r) => r.seatsAvailable);
}

/** Entries on each event's waiting list (only events with entries, at most as many as `read` returns). */
export function waitlistGauge(registry: Registry, read: () => Promise<Array<{ eventId: string; entries: number }>>): void {
  once(
    registry,
    'booking_waitlist_length',
    () =>
      new Gauge({
        name: 'booking_waitlist_length',
        help: 'Requests on the waiting list of each event with one',
        labelNames: ['event_id'] as const,
        registers: [registry],
        async collect() {
          const rows = await read().catch(() => []);
          this.reset();
          for (const r of rows) this.set({ event_id: r.eventId }, r.entries);
        },
      }),
  );
}

/** Seats of held bookings per event (only events with holds, at most as many as `read` returns). */
export function heldSeatsGauge(registry: Registry, read: () => Promise<Array<{ eventId: string; seatsHeld: number }>>): void {
  once(
    registry,
    'booking_seats_held',
    () =>
      new Gauge({
        name: 'booking_seats_held',
        help: 'Seats of bookings held for checkout, for each event with holds',
        labelNames: ['event_id'] as const,
        registers: [registry],
        async collect() {
          const rows = await read().catch(() => []);
          this.reset();
          for (const r of rows) this.set({ event_id: r.eventId }, r.seatsHeld);
        },
      }),
  );
}
