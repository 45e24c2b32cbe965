import { spawnSync } from 'node:child_process';

import { collectProcessMetrics } from '@booking/observability';
import { awaitDecision, createEvent, submit } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PROMTOOL = '/usr/bin/promtool';

describe('/metrics after a sell-out', () => {
  let stack: Stack;
  let text: string;
  let eventId: string;

  beforeAll(async () => {
    stack = await startStack();
    // As in the real processes, so promtool checks the whole output.
    collectProcessMetrics(stack.registry);
    const event = await createEvent(stack.baseUrl, { capacity: 5, maxPerUser: 2 });
    eventId = event.id;
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => submit(stack.baseUrl, event.id, `u${i}`, 1)));
    await Promise.all(answers.filter((a) => a.status === 202).map((a) => awaitDecision(stack.baseUrl, a.body.requestId)));
    const res = await fetch(`${stack.baseUrl}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    text = await res.text();
  });
  afterAll(async () => {
    await stack.close();
  });

  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it.each([
    'booking_attempts_total',
    'booking_success_total',
    'booking_conflicts_total',
    'admission_rejected_total',
    'db_retry_attempts_total',
    'db_connection_pool_size',
    'db_connection_pool_overflow',
    'cache_hit_rate',
    'redis_connection_errors_total',
    'redis_circuit_breaker_open',
    'booking_submission_duration_seconds',
    'booking_queue_wait_seconds',
    'booking_decision_latency_seconds',
    'booking_decisions_per_transaction',
    'booking_queue_depth',
    'booking_seats_available',
    'booking_seats_held',
    'booking_holds_confirmed_total',
    'booking_holds_expired_total',
    'booking_waitlist_length',
    'booking_waitlist_promoted_total',
  ])('exposes %s', (name) => {
    expect(text).toContain(`# TYPE ${name} `);
  });

  it('counts every submission and every outcome', () => {
    expect(value('booking_attempts_total')).toBe(40);
    expect(value('booking_success_total')).toBe(5);
    const fast = value('admission_rejected_total{reason="SOLD_OUT"}') ?? 0;
    const late = value('booking_conflicts_total{reason="SOLD_OUT"}') ?? 0;
    expect(fast + late).toBe(35);
  });

  it('shows seats available for the event on sale', () => {
    expect(value(`booking_seats_available{event_id="${eventId}"}`)).toBe(0);
  });

  it('drops the per-event series once the sale has ended', async () => {
    await stack.db
      .updateTable('events')
      .set({ sales_end_at: new Date(Date.now() - 1000) })
      .where('id', '=', eventId)
      .execute();
    const body = await fetch(`${stack.baseUrl}/metrics`).then((r) => r.text());
    expect(body).toContain('# TYPE booking_seats_available gauge');
    expect(body).not.toContain(`event_id="${eventId}"`);
  });

  it('passes promtool check metrics', () => {
    const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(result.error, `${PROMTOOL} must be installed (Debian package prometheus)`).toBeUndefined();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
