// What the throughput bench's parts share: their environment, starting the roles as processes, a probe
// request, and reading the roles' Prometheus metrics.
import { randomBytes } from 'node:crypto';

import type { BenchDatabase } from '../lib/database.ts';
import type { LoadGenerator, LoadResult } from '../lib/loadgen.ts';
import { type RoleProcess, freePort, startRole, untilHttpOk } from '../lib/processes.ts';
import { int } from '../lib/stats.ts';

export interface Environment {
  db: BenchDatabase;
  redisUrl: string;
  prefix: string;
  adminKey: string;
  loadgen: LoadGenerator;
}

/** Environment of a role process: the bench database and prefix, quiet logs, no per-user limit in the way. */
export function roleEnv(e: Environment, extra: Record<string, string>): Record<string, string> {
  return {
    DATABASE_URL: e.db.databaseUrl,
    REDIS_URL: e.redisUrl,
    QUEUE_PREFIX: e.prefix,
    ADMIN_API_KEY: e.adminKey,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_POINTS: '1000000',
    ...extra,
  };
}

export async function startApi(e: Environment): Promise<{ proc: RoleProcess; baseUrl: string }> {
  const port = await freePort();
  const proc = startRole('api', roleEnv(e, { PORT: String(port) }));
  const baseUrl = `http://127.0.0.1:${port}`;
  await untilHttpOk(proc, `${baseUrl}/readyz`);
  return { proc, baseUrl };
}

export async function startWorker(e: Environment): Promise<{ proc: RoleProcess; metricsUrl: string }> {
  const port = await freePort();
  const proc = startRole('worker', roleEnv(e, { METRICS_PORT: String(port) }));
  const metricsUrl = `http://127.0.0.1:${port}`;
  await untilHttpOk(proc, `${metricsUrl}/healthz`);
  return { proc, metricsUrl };
}

/** Submits one request and long-polls it until decided: proves the worker serves the event. */
export async function probe(baseUrl: string, eventId: string, ms = 30_000): Promise<void> {
  const res = await fetch(`${baseUrl}/v1/events/${eventId}/bookings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: `probe-${randomBytes(4).toString('hex')}`, quantity: 1 }),
  });
  const body = (await res.json()) as { requestId?: string };
  if (res.status !== 202 || !body.requestId) throw new Error(`probe submission answered ${res.status} ${JSON.stringify(body)}`);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const poll = await fetch(`${baseUrl}/v1/booking-requests/${body.requestId}?wait=5`);
    const view = (await poll.json()) as { status?: string };
    if (view.status && view.status !== 'pending') return;
  }
  throw new Error('the probe request was not decided: is the worker serving?');
}

/** Reads one metric of a Prometheus text page (sum over its series), or undefined. */
export async function gauge(url: string, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(url)).text();
    let found = false;
    let total = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
        found = true;
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return found ? total : undefined;
  } catch {
    return undefined;
  }
}

/** Mean of a Prometheus histogram (_sum / _count), or undefined. */
export async function histogramMean(url: string, name: string): Promise<number | undefined> {
  const [total, count] = await Promise.all([gauge(url, `${name}_sum`), gauge(url, `${name}_count`)]);
  return total === undefined || !count ? undefined : total / count;
}

export const MiB = 1024 * 1024;

export const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
export const errorsText = (r: LoadResult) => {
  const all = { ...r.errors, ...(r.undecided ? { undecided: r.undecided } : {}) };
  return sum(all) === 0 ? '0' : `${int(sum(all))} (${Object.entries(all).map(([k, n]) => `${k}: ${int(n)}`).join(', ')})`;
};
