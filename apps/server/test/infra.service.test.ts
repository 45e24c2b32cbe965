// The deployment files against a running service: probes and dashboard queries.

import { MetricsRegistry, serveMetrics } from '@booking/observability';
import { awaitDecision, createEvent, submit } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { dashboardQueries, type Obj, promqlMetricNames, read, yaml } from './infra-files.ts';

describe('against the running service', () => {
  let stack: Stack;
  let exposed: Set<string>;
  let worker: Awaited<ReturnType<typeof serveMetrics>>;

  beforeAll(async () => {
    stack = await startStack();
    const event = await createEvent(stack.baseUrl, { capacity: 1 });
    const first = await submit(stack.baseUrl, event.id, 'infra-1', 1);
    expect((await awaitDecision(stack.baseUrl, first.body.requestId)).status).toBe('confirmed');
    expect((await submit(stack.baseUrl, event.id, 'infra-2', 1)).status).toBe(409);
    const text = await fetch(`${stack.baseUrl}/metrics`).then((r) => r.text());
    exposed = new Set<string>();
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)/.exec(line);
      if (type) {
        exposed.add(type[1]!);
        if (type[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exposed.add(type[1]! + s);
        if (type[2] === 'summary') for (const s of ['_sum', '_count']) exposed.add(type[1]! + s);
      } else if (line && !line.startsWith('#')) {
        exposed.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
      }
    }
    // The worker role's metrics server, as apps/worker/src/main.ts starts it (METRICS_PORT).
    worker = await serveMetrics(new MetricsRegistry(), 0, '127.0.0.1');
  });
  afterAll(async () => {
    await worker?.close();
    await stack?.close();
  });

  it('answers the probe paths the manifests and the compose file use', async () => {
    expect((await fetch(`${stack.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/metrics`)).status).toBe(200);
    const base = `http://127.0.0.1:${worker.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    // A path the worker does not serve is a 404: the checks above are meaningful.
    expect((await fetch(`${base}/readyz`)).status).toBe(404);
  });

  it('exposes every metric the Grafana dashboard queries', () => {
    const dashboard = JSON.parse(read('grafana/dashboards/booking-service.json')) as Obj;
    const queried = new Set(dashboardQueries(dashboard).flatMap(promqlMetricNames));
    // `up` is recorded by Prometheus for each target, not exposed by the service.
    queried.delete('up');
    expect(queried.size).toBeGreaterThan(10);
    expect(
      [...queried].filter((m) => !exposed.has(m)),
      'queried but not exposed',
    ).toEqual([]);
    // It shows what it is meant to show.
    expect([...queried]).toEqual(
      expect.arrayContaining([
        'booking_attempts_total',
        'admission_rejected_total',
        'booking_success_total',
        'booking_conflicts_total',
        'booking_decision_latency_seconds_bucket',
        'booking_queue_depth',
        'booking_seats_available',
        'db_connection_pool_size',
        'db_connection_pool_overflow',
        'redis_circuit_breaker_open',
      ]),
    );
  });

  it('dashboard panels use the provisioned datasource', () => {
    const dashboard = JSON.parse(read('grafana/dashboards/booking-service.json')) as Obj;
    const uid = (yaml('grafana/provisioning/datasources/prometheus.yml').datasources as Obj[])[0]!.uid;
    const refs = JSON.stringify(dashboard).match(/"uid":"[^"]*"/g) ?? [];
    const used = new Set(refs.map((r) => r.slice(7, -1)).filter((u) => u !== dashboard.uid));
    expect([...used]).toEqual([uid]);
  });
});

describe('promqlMetricNames', () => {
  it('finds selectors, not functions, labels, ranges or keywords', () => {
    expect(promqlMetricNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket{x=~"$event"}[$__rate_interval])))')).toEqual([
      'a_bucket',
    ]);
    expect(promqlMetricNames('sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) or vector(0)')).toEqual(['a_sum', 'a_count']);
    expect(promqlMetricNames('max by (event_id) (q{event_id=~"$event"}) > bool 0')).toEqual(['q']);
  });
});
