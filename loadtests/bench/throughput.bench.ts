// Throughput benchmark (run on demand, not a test): `npm run bench:throughput` at the repo root.
//
// Measures the service's throughput targets, each with the roles as separate processes started like
// `npm run start:api` / `start:worker` (Node + tsx, LOG_LEVEL=warn), and the users in a separate
// load-generator process (lib/loadgen.process.ts) over loopback HTTP:
//
//   (a) one hot event, ample seats: decisions/s through one worker from a filled queue (requests
//       submitted through the real API while no worker runs), against the one-transaction-per-booking
//       figure of pgbench measured in the same run (1 client, a conditional UPDATE of a hot row + one
//       INSERT per transaction). Targets: >= 10,000 decisions/s and >= 5x pgbench's tps.
//   (b) end to end over HTTP, one API process and one worker: clients on keep-alive connections each
//       submit and then long-poll their request, again and again; decisions/s over a 10 s window and
//       p50/p99 decision latency. Target: >= 4,000 decisions/s.
//   (c) 10,000 concurrent long-polls on one API process (no worker, so the requests stay pending):
//       its resident memory (VmRSS) while they wait. Target: < 300 MB.
//
// For each it samples CPU per process (API, worker, load generator, Redis, Postgres) over the measured
// window, so a missed target comes with where the time went.
//
//   npm run bench:throughput                         all three; writes loadtests/results/throughput.md
//   npm run bench:throughput -- --smoke              tiny numbers, seconds; writes nothing
//   npm run bench:throughput -- --only a,b --fill 100000 --connections 2000 --out /tmp/t.md
//
// Honours DATABASE_URL (only its server: the bench creates and drops booking_bench_<random>), REDIS_URL,
// PGBENCH (default /usr/lib/postgresql/15/bin/pgbench, else pgbench on PATH). For experiments without
// touching the product: BENCH_API_NODE_OPTIONS / BENCH_WORKER_NODE_OPTIONS add Node flags to a role
// (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, `--max-old-space-size=200`), BENCH_AFTER_MIGRATE_SQL runs
// a SQL file on each bench database after the migrations (e.g. another decide_booking_batch). Exits 1
// when a run fails or loses a request; with --strict also when a target is missed. Writes the summary
// into README.md (throughput-summary block) after a full run at the default sizes.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';

import { parseEnv, serverEnv } from '@booking/config';
import { createRedis, gateKeys } from '@booking/queue';

import { type CpuReport, cpuWindow, formatCpu } from './lib/cpu.ts';
import { type BenchDatabase, createBenchDatabase, withClient } from './lib/database.ts';
import { LoadGenerator, type LoadResult } from './lib/loadgen.ts';
import { type RoleProcess, freePort, memoryOf, openFilesLimit, startRole, untilHttpOk } from './lib/processes.ts';
import { benchPrefix, deletePrefix } from './lib/redis.ts';
import { updateReadmeBlock } from './lib/readme.ts';
import { runLine } from './lib/run-info.ts';
import { createEventOver } from './lib/stack.ts';
import { int, ms, percentile } from './lib/stats.ts';

const run = promisify(execFile);

const TARGETS = { drainPerSecond: 10_000, pgbenchFactor: 5, endToEndPerSecond: 4_000, rssMB: 300 };

interface Options {
  smoke: boolean;
  strict: boolean;
  only: Set<'a' | 'b' | 'c'>;
  fill: number;
  pgbenchSeconds: number;
  connections: number;
  warmupMs: number;
  durationMs: number;
  holds: number;
  out: string | undefined;
  /** Put the summary into README.md (a full run at the default sizes only). */
  readme: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      only: { type: 'string' },
      fill: { type: 'string' },
      'pgbench-seconds': { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      holds: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const only = new Set((values.only ?? 'a,b,c').split(',').map((s) => s.trim())) as Options['only'];
  for (const p of only) if (!['a', 'b', 'c'].includes(p)) throw new Error(`--only takes a, b, c (got ${p})`);
  const o: Options = {
    smoke,
    strict: values.strict ?? false,
    only,
    fill: Number(values.fill ?? (smoke ? 2_000 : 50_000)),
    pgbenchSeconds: Number(values['pgbench-seconds'] ?? (smoke ? 1 : 5)),
    connections: Number(values.connections ?? (smoke ? 20 : 1_000)),
    warmupMs: smoke ? 500 : 3_000,
    durationMs: 1000 * Number(values.duration ?? (smoke ? 1.5 : 10)),
    holds: Number(values.holds ?? (smoke ? 300 : 10_000)),
    out: values.out ?? (smoke ? undefined : fileURLToPath(new URL('../results/throughput.md', import.meta.url))),
    readme: false,
  };
  for (const k of ['fill', 'pgbenchSeconds', 'connections', 'durationMs', 'holds'] as const) {
    if (!Number.isFinite(o[k]) || o[k] <= 0) throw new Error(`--${k} must be a positive number`);
  }
  const resized = Boolean(values.fill || values.connections || values.duration || values.holds || values['pgbench-seconds']);
  // A run with other sizes or parts is not the published one unless --out says where it goes.
  if ((resized || o.only.size < 3) && !values.out) o.out = undefined;
  o.readme = !smoke && !resized && o.only.size === 3 && !values.out;
  return o;
}

interface Environment {
  db: BenchDatabase;
  redisUrl: string;
  prefix: string;
  adminKey: string;
  loadgen: LoadGenerator;
}

/** Environment of a role process: the bench database and prefix, quiet logs, no per-user limit in the way. */
function roleEnv(e: Environment, extra: Record<string, string>): Record<string, string> {
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

async function startApi(e: Environment): Promise<{ proc: RoleProcess; baseUrl: string }> {
  const port = await freePort();
  const proc = startRole('api', roleEnv(e, { PORT: String(port) }));
  const baseUrl = `http://127.0.0.1:${port}`;
  await untilHttpOk(proc, `${baseUrl}/readyz`);
  return { proc, baseUrl };
}

async function startWorker(e: Environment): Promise<{ proc: RoleProcess; metricsUrl: string }> {
  const port = await freePort();
  const proc = startRole('worker', roleEnv(e, { METRICS_PORT: String(port) }));
  const metricsUrl = `http://127.0.0.1:${port}`;
  await untilHttpOk(proc, `${metricsUrl}/healthz`);
  return { proc, metricsUrl };
}

/** Submits one request and long-polls it until decided: proves the worker serves the event. */
async function probe(baseUrl: string, eventId: string, ms = 30_000): Promise<void> {
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
async function gauge(url: string, name: string): Promise<number | undefined> {
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
async function histogramMean(url: string, name: string): Promise<number | undefined> {
  const [total, count] = await Promise.all([gauge(url, `${name}_sum`), gauge(url, `${name}_count`)]);
  return total === undefined || !count ? undefined : total / count;
}

const MiB = 1024 * 1024;

const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
const errorsText = (r: LoadResult) => {
  const all = { ...r.errors, ...(r.undecided ? { undecided: r.undecided } : {}) };
  return sum(all) === 0 ? '0' : `${int(sum(all))} (${Object.entries(all).map(([k, n]) => `${k}: ${int(n)}`).join(', ')})`;
};

// ---------------------------------------------------------------------------------------------- (a)

interface PartA {
  pgbenchTps: number;
  pgbenchScript: string;
  filled: number;
  fillPerSecond: number;
  fillErrors: string;
  jobs: number;
  decided: number;
  decisionsPerSecond: number;
  decidedAtSpanPerSecond: number;
  windowSeconds: number;
  /** Mean decisions per worker transaction (the worker's booking_decisions_per_transaction). */
  perTransaction: number | undefined;
  cpu: CpuReport;
}

const PGBENCH_SCRIPT = `\\set uid random(1, 1000000000)
BEGIN;
UPDATE pgb_events SET available = available - 1 WHERE id = 1 AND available >= 1;
INSERT INTO pgb_bookings (event_id, user_id) VALUES (1, 'u' || :uid);
END;
`;

function pgbenchPath(): string {
  if (process.env.PGBENCH) return process.env.PGBENCH;
  const debian = '/usr/lib/postgresql/15/bin/pgbench';
  if (existsSync(debian)) return debian;
  // Another Debian PostgreSQL version, the newest first; else whatever PATH has.
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((x, y) => Number(y) - Number(x)) : [];
  const found = versions.map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`).find((p) => existsSync(p));
  return found ?? 'pgbench';
}

/** pgbench, 1 client, one booking per transaction on a hot row, in the bench database; returns its tps. */
async function pgbench(e: Environment, seconds: number): Promise<number> {
  await withClient(e.db.databaseUrl, async (c) => {
    await c.query(`CREATE TABLE pgb_events (id integer PRIMARY KEY, available integer NOT NULL CHECK (available >= 0))`);
    await c.query(`INSERT INTO pgb_events VALUES (1, 1000000000)`);
    await c.query(`CREATE TABLE pgb_bookings (id bigserial PRIMARY KEY, event_id integer NOT NULL, user_id text NOT NULL,
                   created_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  });
  const dir = await mkdtemp(join(os.tmpdir(), 'booking-pgbench-'));
  try {
    const script = join(dir, 'booking.sql');
    await writeFile(script, PGBENCH_SCRIPT);
    const url = new URL(e.db.databaseUrl);
    const { stdout } = await run(
      pgbenchPath(),
      ['-n', '-c', '1', '-j', '1', '-T', String(seconds), '-M', 'prepared', '-f', script,
        '-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username || 'postgres'), e.db.dbName],
      { env: { ...process.env, ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}) } },
    );
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1];
    if (!tps) throw new Error(`could not read pgbench's tps:\n${stdout}`);
    return Number(tps);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Requests decided so far on an event with ample seats (all confirmed): capacity - available, one
 * primary-key lookup, so that watching the drain costs Postgres next to nothing.
 */
async function countDecided(client: import('pg').Client, eventId: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>('SELECT capacity - available AS n FROM events WHERE id = $1', [eventId]);
  return rows[0]!.n;
}

async function partA(e: Environment, o: Options): Promise<PartA> {
  const pgbenchTps = await pgbench(e, o.pgbenchSeconds);
  process.stdout.write(`(a) pgbench, 1 client, ${o.pgbenchSeconds} s, one booking per transaction: ${pgbenchTps.toFixed(0)} tps\n`);

  const api = await startApi(e);
  let worker: RoleProcess | undefined;
  try {
    const eventId = await createEventOver(api.baseUrl, e.adminKey, 'throughput (a)', 1_000_000);
    const fill = await e.loadgen.run({ kind: 'fill', baseUrl: api.baseUrl, eventId, userPrefix: 'a-', requests: o.fill, connections: 256 });
    const filled = fill.requestIds?.length ?? 0;
    process.stdout.write(`(a) queue filled through the API: ${int(filled)} requests accepted in ${ms(fill.wallMs)} ms (${int(filled / (fill.wallMs / 1000))}/s), errors ${errorsText(fill)}\n`);
    const redis = createRedis({ url: e.redisUrl, cluster: false }, 'command', 'booking-bench');
    let jobs = 0;
    try {
      await sleep(500); // the API's journal writes behind the 202s
      jobs = await redis.llen(gateKeys(e.prefix, eventId).wait);
    } finally {
      await redis.quit().catch(() => {});
    }
    process.stdout.write(`(a) ${int(jobs)} jobs waiting (${(filled / Math.max(1, jobs)).toFixed(1)} requests per job); starting a worker\n`);

    return await withClient(e.db.databaseUrl, async (client) => {
      const started = performance.now();
      // Watch from the moment it starts: it decides before its metrics port (its readiness) is up.
      const metricsPort = await freePort();
      const metricsUrl = `http://127.0.0.1:${metricsPort}`;
      worker = startRole('worker', roleEnv(e, { METRICS_PORT: String(metricsPort) }));
      const components = { pids: { api: api.proc.pid, worker: worker.pid, bench: process.pid, 'load generator (idle)': e.loadgen.pid }, database: e.db.dbName };
      let first: { at: number; n: number; cpu: ReturnType<typeof cpuWindow> } | undefined;
      let n = 0;
      for (;;) {
        n = await countDecided(client, eventId);
        if (!first && n > 0) first = { at: performance.now(), n, cpu: cpuWindow(components) };
        if (n >= filled) break;
        if (worker.child.exitCode !== null) throw new Error(`the worker exited (${worker.child.exitCode})\n${worker.output()}`);
        if (performance.now() - started > 300_000) throw new Error(`only ${n} of ${filled} decided after 300 s`);
        await sleep(20);
      }
      const end = performance.now();
      const cpu = first!.cpu.stop();
      const windowSeconds = (end - first!.at) / 1000;
      const { rows } = await client.query<{ span: number; decided: number }>(
        `SELECT extract(epoch FROM max(decided_at) - min(decided_at))::float8 AS span, count(*)::int AS decided
           FROM booking_requests WHERE event_id = $1`,
        [eventId],
      );
      if (rows[0]!.decided !== filled) throw new Error(`${rows[0]!.decided} requests decided, ${filled} accepted`);
      const perTransaction = await histogramMean(`${metricsUrl}/metrics`, 'booking_decisions_per_transaction');
      return {
        pgbenchTps,
        pgbenchScript: PGBENCH_SCRIPT,
        filled,
        fillPerSecond: filled / (fill.wallMs / 1000),
        fillErrors: errorsText(fill),
        jobs,
        decided: n,
        decisionsPerSecond: windowSeconds > 0 ? (n - first!.n) / windowSeconds : 0,
        decidedAtSpanPerSecond: rows[0]!.span > 0 ? n / rows[0]!.span : 0,
        windowSeconds,
        perTransaction,
        cpu,
      };
    });
  } finally {
    await worker?.stop();
    await api.proc.stop();
  }
}

// ---------------------------------------------------------------------------------------------- (b)

interface PartB {
  connections: number;
  windowSeconds: number;
  decisions: number;
  perSecond: number;
  p50: number | undefined;
  p99: number | undefined;
  submitP50: number | undefined;
  submitP99: number | undefined;
  errors: string;
  cpu: CpuReport;
  apiRssMiB: number;
  perTransaction: number | undefined;
  apiLoopLagP99Ms: number | undefined;
}

async function partB(e: Environment, o: Options): Promise<PartB> {
  const worker = await startWorker(e);
  const api = await startApi(e).catch(async (err) => {
    await worker.proc.stop();
    throw err;
  });
  try {
    const warmup = await createEventOver(api.baseUrl, e.adminKey, 'throughput (b) warm-up', 1_000);
    await probe(api.baseUrl, warmup);
    const eventId = await createEventOver(api.baseUrl, e.adminKey, 'throughput (b)', 1_000_000);
    await probe(api.baseUrl, eventId);
    const components = { pids: { api: api.proc.pid, worker: worker.proc.pid, 'load generator': e.loadgen.pid }, database: e.db.dbName };
    let window: ReturnType<typeof cpuWindow> | undefined;
    let cpu: CpuReport | undefined;
    let apiRssMiB = 0;
    let perTransaction: number | undefined;
    let loopLagP99: number | undefined;
    const r = await e.loadgen.run(
      {
        kind: 'closed',
        baseUrl: api.baseUrl,
        eventId,
        userPrefix: 'b-',
        longPollSeconds: 30,
        connections: o.connections,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
      },
      {
        mark: async (name) => {
          if (name === 'window-start') window = cpuWindow(components);
          if (name === 'window-end') {
            cpu = window!.stop();
            apiRssMiB = memoryOf(api.proc.pid).rssMiB;
            [perTransaction, loopLagP99] = await Promise.all([
              histogramMean(`${worker.metricsUrl}/metrics`, 'booking_decisions_per_transaction'),
              gauge(`${api.baseUrl}/metrics`, 'nodejs_eventloop_lag_p99_seconds'),
            ]);
          }
        },
      },
    );
    const decisions = r.decisionMs.length;
    return {
      connections: o.connections,
      windowSeconds: o.durationMs / 1000,
      decisions,
      perSecond: decisions / (o.durationMs / 1000),
      p50: percentile(r.decisionMs, 50),
      p99: percentile(r.decisionMs, 99),
      submitP50: percentile(r.submitMs, 50),
      submitP99: percentile(r.submitMs, 99),
      errors: errorsText(r),
      cpu: cpu!,
      apiRssMiB,
      perTransaction,
      apiLoopLagP99Ms: loopLagP99 === undefined ? undefined : loopLagP99 * 1000,
    };
  } finally {
    await api.proc.stop();
    await worker.proc.stop();
  }
}

// ---------------------------------------------------------------------------------------------- (c)

interface PartC {
  requested: number;
  accepted: number;
  waiters: number | undefined;
  held: number;
  idleMiB: number;
  afterSubmitMiB: number;
  holdingMiB: number;
  peakMiB: number;
  errors: string;
  openFiles: number;
  idleHeapUsedMiB: number | undefined;
  heapUsedMiB: number | undefined;
  heapTotalMiB: number | undefined;
  externalMiB: number | undefined;
}

async function partC(e: Environment, o: Options): Promise<PartC> {
  const api = await startApi(e);
  try {
    const eventId = await createEventOver(api.baseUrl, e.adminKey, 'throughput (c)', 1_000_000);
    await sleep(500);
    const idleMiB = memoryOf(api.proc.pid).rssMiB;
    let afterSubmitMiB = 0;
    let holdingMiB = 0;
    let waiters: number | undefined;
    let heapUsed: number | undefined;
    let heapTotal: number | undefined;
    let external: number | undefined;
    const idleHeapUsed = await gauge(`${api.baseUrl}/metrics`, 'nodejs_heap_size_used_bytes');
    const r = await e.loadgen.run(
      { kind: 'hold', baseUrl: api.baseUrl, eventId, userPrefix: 'c-', longPollSeconds: 30, requests: o.holds, batch: 250 },
      {
        mark: async (name) => {
          if (name === 'submitted') afterSubmitMiB = memoryOf(api.proc.pid).rssMiB;
          if (name !== 'holding') return;
          // Every long-poll sent: wait until the API holds them all (its waiters gauge) or their number
          // stops growing (a connection may have failed), well within the long-polls' 30 s, then read.
          const deadline = Date.now() + 10_000;
          let last = -1;
          let still = 0;
          for (;;) {
            waiters = await gauge(`${api.baseUrl}/metrics`, 'booking_long_poll_waiters');
            if ((waiters ?? 0) >= o.holds || Date.now() > deadline) break;
            still = waiters === last ? still + 1 : 0;
            if (still >= 5) break;
            last = waiters ?? -1;
            await sleep(200);
          }
          for (let i = 0; i < 5; i++) {
            holdingMiB = Math.max(holdingMiB, memoryOf(api.proc.pid).rssMiB);
            await sleep(200);
          }
          [heapUsed, heapTotal, external] = await Promise.all([
            gauge(`${api.baseUrl}/metrics`, 'nodejs_heap_size_used_bytes'),
            gauge(`${api.baseUrl}/metrics`, 'nodejs_heap_size_total_bytes'),
            gauge(`${api.baseUrl}/metrics`, 'nodejs_external_memory_bytes'),
          ]);
        },
      },
    );
    const peakMiB = memoryOf(api.proc.pid).peakMiB;
    return {
      requested: o.holds,
      accepted: r.requestIds?.length ?? 0,
      waiters,
      held: r.held ?? 0,
      idleMiB,
      afterSubmitMiB,
      holdingMiB,
      peakMiB,
      errors: errorsText(r),
      openFiles: openFilesLimit(),
      idleHeapUsedMiB: idleHeapUsed === undefined ? undefined : idleHeapUsed / MiB,
      heapUsedMiB: heapUsed === undefined ? undefined : heapUsed / MiB,
      heapTotalMiB: heapTotal === undefined ? undefined : heapTotal / MiB,
      externalMiB: external === undefined ? undefined : external / MiB,
    };
  } finally {
    await api.proc.stop();
  }
}

// ---------------------------------------------------------------------------------------------- report

const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');

function cpuTable(r: CpuReport): string {
  const rows = Object.entries(r.percent)
    .filter(([, v]) => v >= 0.5)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `| ${k} | ${v.toFixed(0)} % |`);
  return [
    `CPU over the ${r.seconds.toFixed(1)} s window (100 % = one core; the machine has ${r.cores} cores and was ${r.machinePercent.toFixed(0)} % busy):`,
    '',
    '| process | CPU |',
    '|---|---|',
    ...rows,
  ].join('\n');
}

/** The targets with this run's figures, for the README. */
function summary(a: PartA | undefined, b: PartB | undefined, c: PartC | undefined, info: string): string {
  const share = (v: number, target: number) => `${((100 * v) / target).toFixed(0)} % of the target`;
  const rows: string[] = [];
  if (a) {
    const ratio = a.decisionsPerSecond / a.pgbenchTps;
    rows.push(
      `| (a) one hot event, one worker, from a filled queue: >= ${int(TARGETS.drainPerSecond)} decisions/s | ${int(a.decisionsPerSecond)} decisions/s | ${a.decisionsPerSecond >= TARGETS.drainPerSecond ? 'yes' : `no (${share(a.decisionsPerSecond, TARGETS.drainPerSecond)})`} |`,
      `| (a) ... and >= ${TARGETS.pgbenchFactor}× pgbench's one transaction per booking (${int(a.pgbenchTps)} tps in the same run) | ${ratio.toFixed(2)}× | ${ratio >= TARGETS.pgbenchFactor ? 'yes' : 'no'} |`,
    );
  }
  if (b) {
    rows.push(
      `| (b) end to end over HTTP, one API process + one worker: >= ${int(TARGETS.endToEndPerSecond)} decisions/s | ${int(b.perSecond)} decisions/s, p50 / p99 ${ms(b.p50)} / ${ms(b.p99)} ms | ${b.perSecond >= TARGETS.endToEndPerSecond ? 'yes' : `no (${share(b.perSecond, TARGETS.endToEndPerSecond)})`} |`,
    );
  }
  if (c) {
    const mb = (c.holdingMiB * 1024 * 1024) / 1e6;
    rows.push(
      `| (c) ${int(c.requested)} concurrent long-polls on one API process: RSS < ${TARGETS.rssMB} MB | ${mb.toFixed(0)} MB (idle ${((c.idleMiB * 1024 * 1024) / 1e6).toFixed(0)} MB) | ${mb < TARGETS.rssMB && c.held >= c.requested ? 'yes' : 'no'} |`,
    );
  }
  return [info, '', '| target | measured | met |', '|---|---|---|', ...rows].join('\n');
}

function report(a: PartA | undefined, b: PartB | undefined, c: PartC | undefined, runLine: string): { md: string; met: boolean } {
  const out: string[] = [];
  let met = true;
  if (a) {
    const ratio = a.decisionsPerSecond / a.pgbenchTps;
    const okRate = a.decisionsPerSecond >= TARGETS.drainPerSecond;
    const okRatio = ratio >= TARGETS.pgbenchFactor;
    met &&= okRate && okRatio;
    out.push(
      '## (a) One hot event, ample seats: decisions/s through one worker from a filled queue',
      '',
      `| figure | value | target |`,
      '|---|---|---|',
      `| pgbench, 1 client, one booking (conditional UPDATE + INSERT) per transaction | ${int(a.pgbenchTps)} tps | — |`,
      `| requests in the queue (submitted through the API, no worker running) | ${int(a.filled)} in ${int(a.jobs)} jobs (${(a.filled / Math.max(1, a.jobs)).toFixed(1)} per job) | — |`,
      `| submissions/s while filling (256 connections) | ${int(a.fillPerSecond)} | — |`,
      `| **decisions/s, one worker, from the first decision to the last** | **${int(a.decisionsPerSecond)}** (${int(a.decided)} decided, ${a.windowSeconds.toFixed(2)} s) | >= ${int(TARGETS.drainPerSecond)}: ${verdict(okRate)} |`,
      `| decisions/s by \`decided_at\` (first to last decision in the database) | ${int(a.decidedAtSpanPerSecond)} | — |`,
      `| decisions per worker transaction (mean) | ${a.perTransaction === undefined ? 'n/a' : a.perTransaction.toFixed(1)} | — |`,
      `| **ratio to pgbench** | **${ratio.toFixed(2)}×** | >= ${TARGETS.pgbenchFactor}×: ${verdict(okRatio)} |`,
      '',
      cpuTable(a.cpu),
      '',
      'pgbench script (`pgbench -n -c 1 -j 1 -T <s> -M prepared`, on the bench database):',
      '',
      '```',
      a.pgbenchScript.trimEnd(),
      '```',
      '',
    );
  }
  if (b) {
    const ok = b.perSecond >= TARGETS.endToEndPerSecond;
    met &&= ok;
    out.push(
      '## (b) End to end over HTTP (submit -> decided), one API process and one worker',
      '',
      '| figure | value | target |',
      '|---|---|---|',
      `| clients (keep-alive connections), each: submit, long-poll until decided, repeat | ${int(b.connections)} | — |`,
      `| **decisions/s** over the ${b.windowSeconds} s window (after a warm-up) | **${int(b.perSecond)}** (${int(b.decisions)} decisions) | >= ${int(TARGETS.endToEndPerSecond)}: ${verdict(ok)} |`,
      `| decision latency p50 / p99 (submit -> decision received) | ${ms(b.p50)} / ${ms(b.p99)} ms | — |`,
      `| submission latency p50 / p99 (-> 202) | ${ms(b.submitP50)} / ${ms(b.submitP99)} ms | — |`,
      `| errors in the window | ${b.errors} | — |`,
      `| decisions per worker transaction (mean over the run) | ${b.perTransaction === undefined ? 'n/a' : b.perTransaction.toFixed(1)} | — |`,
      `| API event-loop lag p99 (its \`nodejs_eventloop_lag_p99_seconds\`) | ${b.apiLoopLagP99Ms === undefined ? 'n/a' : `${b.apiLoopLagP99Ms.toFixed(0)} ms`} | — |`,
      `| API resident memory at the end of the window | ${b.apiRssMiB.toFixed(0)} MiB | — |`,
      '',
      cpuTable(b.cpu),
      '',
    );
  }
  if (c) {
    const holdingMB = (c.holdingMiB * 1024 * 1024) / 1e6;
    const ok = holdingMB < TARGETS.rssMB && c.held >= c.requested;
    met &&= ok;
    out.push(
      `## (c) ${int(c.requested)} concurrent long-polling clients on one API process`,
      '',
      '| figure | value | target |',
      '|---|---|---|',
      `| requests submitted (no worker running: they stay pending) | ${int(c.accepted)} of ${int(c.requested)} | — |`,
      `| long-polls (\`?wait=30\`, one connection each) held at the reading | ${int(c.held)} (API's \`booking_long_poll_waiters\`: ${c.waiters === undefined ? 'n/a' : int(c.waiters)}) | ${int(c.requested)} |`,
      `| API VmRSS idle / after the submissions | ${c.afterSubmitMiB ? `${c.idleMiB.toFixed(0)} / ${c.afterSubmitMiB.toFixed(0)} MiB` : 'n/a'} | — |`,
      `| **API VmRSS while holding them** | **${c.holdingMiB.toFixed(0)} MiB (${holdingMB.toFixed(0)} MB)** | < ${TARGETS.rssMB} MB: ${verdict(ok)} |`,
      `| API peak RSS (VmHWM) over its life | ${c.peakMiB.toFixed(0)} MiB | — |`,
      `| of which V8 heap used / allocated while holding (idle: used) | ${c.heapUsedMiB === undefined ? 'n/a' : `${c.heapUsedMiB.toFixed(0)} / ${c.heapTotalMiB?.toFixed(0)} MiB (${c.idleHeapUsedMiB?.toFixed(0)} MiB)`} | — |`,
      `| external (Buffers etc.) while holding | ${c.externalMiB === undefined ? 'n/a' : `${c.externalMiB.toFixed(0)} MiB`} | — |`,
      `| errors | ${c.errors} | — |`,
      '',
      `Open-files limit of the bench and its children: ${c.openFiles}.`,
      '',
    );
  }
  return { md: [runLine, '', ...out].join('\n'), met };
}

async function main(): Promise<number> {
  const o = options();
  const env = parseEnv(serverEnv, process.env);
  if (env.REDIS_CLUSTER) throw new Error('the throughput bench runs against a single Redis (REDIS_CLUSTER=false)');
  const limit = openFilesLimit();
  if (o.only.has('c') && limit < o.holds + 2_000) {
    throw new Error(`(c) needs ${o.holds} sockets per process but the open-files limit is ${limit}: raise it (ulimit -n 65536) or lower --holds`);
  }
  const redis = { url: env.REDIS_URL, cluster: false };
  const loadgen = LoadGenerator.start();
  const adminKey = `bench-${randomBytes(12).toString('hex')}`;
  // Each part gets a database and a key prefix of its own, so that none sees what another left.
  let current: { db: BenchDatabase; prefix: string } | undefined;
  const part = async <T>(fn: (e: Environment) => Promise<T>): Promise<T> => {
    const db = await createBenchDatabase(env.DATABASE_URL);
    const prefix = benchPrefix();
    current = { db, prefix };
    try {
      return await fn({ db, redisUrl: env.REDIS_URL, prefix, adminKey, loadgen });
    } finally {
      await Promise.allSettled([db.drop(), deletePrefix(redis, prefix)]);
      current = undefined;
    }
  };
  const cleanup = () =>
    Promise.allSettled([loadgen.close(), ...(current ? [current.db.drop(), deletePrefix(redis, current.prefix)] : [])]);
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    void cleanup().then(() => process.exit(130));
  });
  const info = await runLine(`npm run bench:throughput${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`, new Date(), os.loadavg()[0]!);
  process.stdout.write(`throughput bench${o.smoke ? ' (smoke)' : ''}: open-files limit ${limit}\n`);
  try {
    let a: PartA | undefined;
    let b: PartB | undefined;
    let c: PartC | undefined;
    if (o.only.has('a')) {
      a = await part((e) => partA(e, o));
      process.stdout.write(
        `(a) ${int(a.decisionsPerSecond)} decisions/s through one worker (${(a.decisionsPerSecond / a.pgbenchTps).toFixed(2)}× pgbench's ${int(a.pgbenchTps)} tps)\n` +
          `    CPU: ${formatCpu(a.cpu)}\n`,
      );
    }
    if (o.only.has('b')) {
      b = await part((e) => partB(e, o));
      process.stdout.write(
        `(b) ${int(b.perSecond)} decisions/s end to end, ${int(b.connections)} clients, decision p50/p99 ${ms(b.p50)} / ${ms(b.p99)} ms, errors ${b.errors}\n` +
          `    CPU: ${formatCpu(b.cpu)}\n`,
      );
    }
    if (o.only.has('c')) {
      c = await part((e) => partC(e, o));
      process.stdout.write(
        `(c) API VmRSS ${c.holdingMiB.toFixed(0)} MiB holding ${int(c.held)} long-polls (idle ${c.idleMiB.toFixed(0)} MiB, peak ${c.peakMiB.toFixed(0)} MiB), errors ${c.errors}\n`,
      );
    }
    const { md, met } = report(a, b, c, info);
    process.stdout.write(`\n${md}\n`);
    process.stdout.write(`targets: ${met ? 'all met' : 'NOT all met'}\n`);
    if (o.out) {
      const doc = [
        '# Throughput benchmark',
        '',
        'The API and the worker run as separate processes, started as `npm run start:api` / `start:worker` do (Node + tsx,',
        '`NODE_ENV=production`, `LOG_LEVEL=warn`, `RATE_LIMIT_POINTS=1000000`, every other setting at its default), on a',
        'database and a Redis key prefix of their own (fresh for each part). The users run in a separate load-generator process (undici, keep-alive',
        'connections) over loopback; every request asks for one seat with a user id of its own. CPU is read from /proc per',
        'process over the measured window.',
        '',
        md,
      ].join('\n');
      await mkdir(dirname(o.out), { recursive: true });
      await writeFile(o.out, doc);
      process.stdout.write(`written to ${o.out}\n`);
    }
    if (o.readme) {
      if (await updateReadmeBlock('throughput-summary', summary(a, b, c, info))) process.stdout.write('README.md updated\n');
      else process.stdout.write('README.md has no throughput-summary block; not updated\n');
    }
    const lost = (a && a.decided < a.filled) || (c && c.accepted < c.requested);
    return lost || (o.strict && !met) ? 1 : 0;
  } finally {
    if (!interrupted) await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`throughput bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
