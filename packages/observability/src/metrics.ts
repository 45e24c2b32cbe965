import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';

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
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Gets a metric already on the registry (the API and the worker may share one) or creates it. */
export function once<T>(registry: Registry, name: string, create: () => T): T {
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
