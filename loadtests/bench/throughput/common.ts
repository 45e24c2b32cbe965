// What the throughput bench's parts share: their environment, starting the roles as processes, a probe
// request, and reading the roles' Prometheus metrics.
import { randomBytes } from 'node:crypto';

import type { BenchDatabase } from '../lib/database.ts';
import type { LoadGenerator, LoadResult } from '../lib/loadgen.ts';
import { freePort, type RoleProcess, startRole, untilHttpOk } from '../lib/processes.ts';
import { int } from '../lib/stats.ts';

export interface Environment {
  /** With AUTH_MODE=jwt: the HS256 secret the service verifies and the load generator signs with. */
  jwtSecret?: string;
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
    // Production needs an explicit AUTH_MODE; with --auth jwt the load generator sends tokens.
    ...(e.jwtSecret ? { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: e.jwtSecret } : { AUTH_MODE: 'none' }),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_POINTS: '1000000',
    // One load generator is one client address.
    RATE_LIMIT_IP_POINTS: '10000000',
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

/** How the service runs: `single` as `npm start` (API + worker in one process), `split` as `start:api` + `start:worker`. */
export type Mode = 'single' | 'split';

export const MODE_LABEL: Record<Mode, string> = {
  single: 'single process (`npm start`)',
  split: 'API + worker processes',
};

/** The service in one mode: where to send users, where its metrics are, its processes. */
export interface Service {
  mode: Mode;
  baseUrl: string;
  /** The page with the worker's metrics (booking_decisions_per_transaction). */
  workerMetricsUrl: string;
  /** The page with the HTTP side's metrics (event-loop lag, waiters). */
  apiMetricsUrl: string;
  /** The process answering HTTP (its RSS is "the API's"). */
  httpPid: number;
  /** Named pids for the CPU table. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

export async function startService(e: Environment, mode: Mode): Promise<Service> {
  if (mode === 'single') {
    const port = await freePort();
    const proc = startRole('server', roleEnv(e, { PORT: String(port) }));
    const baseUrl = `http://127.0.0.1:${port}`;
    await untilHttpOk(proc, `${baseUrl}/readyz`).catch(async (err) => {
      await proc.stop();
      throw err;
    });
    return {
      mode,
      baseUrl,
      workerMetricsUrl: `${baseUrl}/metrics`,
      apiMetricsUrl: `${baseUrl}/metrics`,
      httpPid: proc.pid,
      pids: { server: proc.pid },
      stop: () => proc.stop(),
    };
  }
  const worker = await startWorker(e);
  const api = await startApi(e).catch(async (err) => {
    await worker.proc.stop();
    throw err;
  });
  return {
    mode,
    baseUrl: api.baseUrl,
    workerMetricsUrl: `${worker.metricsUrl}/metrics`,
    apiMetricsUrl: `${api.baseUrl}/metrics`,
    httpPid: api.proc.pid,
    pids: { api: api.proc.pid, worker: worker.proc.pid },
    async stop() {
      await api.proc.stop();
      await worker.proc.stop();
    },
  };
}

/** The bare-door baseline (bare-door.main.ts) as a process, started like the roles. */
export async function startBare(e: Environment): Promise<{ proc: RoleProcess; baseUrl: string }> {
  const port = await freePort();
  const proc = startRole('bare', roleEnv(e, { PORT: String(port) }));
  const baseUrl = `http://127.0.0.1:${port}`;
  await untilHttpOk(proc, `${baseUrl}/readyz`).catch(async (err) => {
    await proc.stop();
    throw err;
  });
  return { proc, baseUrl };
}

export async function startWorker(e: Environment): Promise<{ proc: RoleProcess; metricsUrl: string }> {
  const port = await freePort();
  const proc = startRole('worker', roleEnv(e, { METRICS_PORT: String(port) }));
  const metricsUrl = `http://127.0.0.1:${port}`;
  await untilHttpOk(proc, `${metricsUrl}/healthz`);
  return { proc, metricsUrl };
}

/**
 * Submits one request and long-polls it until decided: proves the worker serves the event. As the
 * admin (who may book for a body's userId and read any request), so it works in every AUTH_MODE.
 */
export async function probe(e: Pick<Environment, 'adminKey'>, baseUrl: string, eventId: string, ms = 30_000): Promise<void> {
  const admin = { authorization: `Bearer ${e.adminKey}` };
  const res = await fetch(`${baseUrl}/v1/events/${eventId}/bookings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...admin },
    body: JSON.stringify({ userId: `probe-${randomBytes(4).toString('hex')}`, quantity: 1 }),
  });
  const body = (await res.json()) as { requestId?: string };
  if (res.status !== 202 || !body.requestId) throw new Error(`probe submission answered ${res.status} ${JSON.stringify(body)}`);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const poll = await fetch(`${baseUrl}/v1/booking-requests/${body.requestId}?wait=5`, { headers: admin });
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
  return sum(all) === 0
    ? '0'
    : `${int(sum(all))} (${Object.entries(all)
        .map(([k, n]) => `${k}: ${int(n)}`)
        .join(', ')})`;
};
