// Strategy benchmark (run on demand, not a test): `npm run bench` at the repo root.
//
// Runs the same scenarios, on this machine in one run, against
//   (1) this pipeline: the real API and worker in this process (startApi + startWorker, one pg pool);
//   (2) a synchronous API doing one conditional UPDATE per request;
//   (3) optimistic locking with a version column and 3 retries (the predecessor's strategy);
//   (4) pessimistic locking, SELECT ... FOR UPDATE;
// (2)-(4) are small Express servers in loadtests/bench/strategies/ with tables of their own (bench_*)
// in the same bench database and a pg pool of 10, like the service's. The simulated users run in a
// load-generator process of their own (lib/loadgen.process.ts), over loopback HTTP.
//
// Scenarios: the predecessor's (1,000 users at once for 10 seats), a flash sale (10,000 users at
// once for 1,000 seats) and a sustained hot event (a fixed arrival rate for 10 s on one event with
// ample seats). Prints a markdown table and (full mode) writes loadtests/results/strategies.md and
// strategies.svg and the table into README.md (between the strategies-table markers).
//
//   npm run bench                               the full run (a few minutes)
//   npm run bench -- --smoke                    tiny numbers, seconds; writes nothing
//   npm run bench -- --rate 3000 --out-dir /tmp/bench --no-readme
//
// Honours DATABASE_URL (only its server: the bench creates and drops booking_bench_<random>), REDIS_URL
// and the service's sizing variables (DATABASE_POOL_SIZE, RATE_LIMIT_*, WORKER_*); BENCH_LOG_LEVEL shows
// the service's logs; BENCH_AFTER_MIGRATE_SQL runs a SQL file on the bench database after the
// migrations. Exits 1 when any strategy oversells, or the pipeline leaves a request undecided or
// answers with an error.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { type ServerEnv, parseEnv, serverEnv } from '@booking/config';
import type { RedisSettings } from '@booking/queue';

import {
  type BenchDatabase,
  createBenchDatabase,
  flushStatistics,
  transactionsOf,
  untilDisconnected,
  withClient,
} from './lib/database.ts';
import { LoadGenerator, type LoadResult, type Plan } from './lib/loadgen.ts';
import { benchPrefix, deletePrefix } from './lib/redis.ts';
import { updateReadmeBlock } from './lib/readme.ts';
import { runLine } from './lib/run-info.ts';
import { startStack } from './lib/stack.ts';
import { int, ms, pct, percentile } from './lib/stats.ts';
import { barChartSvg } from './lib/svg.ts';
import { OPTIMISTIC_RETRIES, type StrategyName } from './strategies/booking.ts';
import { createStrategyTables } from './strategies/schema.ts';
import { startStrategyServer } from './strategies/server.ts';

type Strategy = 'pipeline' | StrategyName;

const STRATEGIES: Array<{ id: Strategy; label: string; color: string }> = [
  { id: 'pipeline', label: 'this pipeline (queue + group commit)', color: '#2f9e44' },
  { id: 'conditional-update', label: 'conditional UPDATE', color: '#1c7ed6' },
  { id: 'optimistic', label: `optimistic locking (${OPTIMISTIC_RETRIES} retries)`, color: '#e8590c' },
  { id: 'pessimistic', label: 'SELECT ... FOR UPDATE', color: '#7048e8' },
];

interface Scenario {
  id: string;
  label: string;
  seats: number;
  load: { kind: 'burst'; users: number } | { kind: 'rate'; rate: number; durationMs: number; connections: number };
}

interface Options {
  smoke: boolean;
  outDir: string | undefined;
  readme: boolean;
  scenarios: Scenario[];
  strategies: Strategy[];
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      'out-dir': { type: 'string' },
      'no-readme': { type: 'boolean', default: false },
      rate: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      scenarios: { type: 'string' },
      strategies: { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const rate = Number(values.rate ?? (smoke ? 100 : 500));
  const durationMs = 1000 * Number(values.duration ?? (smoke ? 2 : 10));
  const connections = Number(values.connections ?? (smoke ? 50 : 2_000));
  for (const [name, v] of [['rate', rate], ['duration', durationMs], ['connections', connections]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  }
  const all: Scenario[] = [
    {
      id: 'predecessor',
      label: smoke ? '100 users, 5 seats' : '1,000 users, 10 seats',
      seats: smoke ? 5 : 10,
      load: { kind: 'burst', users: smoke ? 100 : 1_000 },
    },
    {
      id: 'flash-sale',
      label: smoke ? '300 users, 30 seats' : '10,000 users, 1,000 seats',
      seats: smoke ? 30 : 1_000,
      load: { kind: 'burst', users: smoke ? 300 : 10_000 },
    },
    {
      id: 'sustained',
      label: `hot event, ${int(rate)}/s for ${durationMs / 1000} s`,
      seats: 1_000_000,
      load: { kind: 'rate', rate, durationMs, connections },
    },
  ];
  const pick = <T extends { id: string }>(list: T[], csv: string | undefined, what: string): T[] => {
    if (!csv) return list;
    const ids = csv.split(',').map((s) => s.trim());
    for (const id of ids) if (!list.some((x) => x.id === id)) throw new Error(`unknown ${what} ${id}`);
    return list.filter((x) => ids.includes(x.id));
  };
  const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
  const partial = Boolean(values.scenarios || values.strategies || values.rate || values.duration || values.connections);
  return {
    smoke,
    outDir: values['out-dir'] ?? (smoke ? undefined : resultsDir),
    // Only a full default run goes into the README.
    readme: !smoke && !values['no-readme'] && !values['out-dir'] && !partial,
    scenarios: pick(all, values.scenarios, 'scenario'),
    strategies: pick(STRATEGIES, values.strategies, 'strategy').map((s) => s.id),
  };
}

interface Result {
  scenario: Scenario;
  strategy: Strategy;
  load: LoadResult;
  capacity: number;
  /** Seats confirmed in the database. */
  sold: number;
  available: number;
  transactions: number;
  /** SOLD_OUT answers while seats were left (every request asks for one seat and none come back). */
  falseSoldOut: number;
  problems: string[];
  /** The pipeline: requests decided per worker transaction (group commit), mean over the measured part. */
  perTransaction?: number | undefined;
}

interface Environment {
  db: BenchDatabase;
  redis: RedisSettings;
  prefix: string;
  env: ServerEnv;
  loadgen: LoadGenerator;
  smoke: boolean;
}

interface Target {
  baseUrl: string;
  decisionStats?: () => Promise<{ transactions: number; decisions: number }>;
  pool: { query(sql: string): Promise<unknown>; totalCount: number };
  createEvent(name: string, capacity: number): Promise<string>;
  stop(): Promise<void>;
}

async function startTarget(e: Environment, strategy: Strategy): Promise<Target> {
  if (strategy === 'pipeline') {
    return startStack({ databaseUrl: e.db.databaseUrl, redis: e.redis, prefix: e.prefix, env: e.env });
  }
  return startStrategyServer(strategy, { databaseUrl: e.db.databaseUrl, poolSize: e.env.DATABASE_POOL_SIZE });
}

async function seatsOf(e: Environment, strategy: Strategy, eventId: string): Promise<{ sold: number; available: number }> {
  const sql =
    strategy === 'pipeline'
      ? `SELECT (SELECT coalesce(sum(quantity), 0)::int FROM bookings WHERE event_id = $1 AND status = 'confirmed') AS sold,
                (SELECT available FROM events WHERE id = $1) AS available`
      : `SELECT (SELECT coalesce(sum(quantity), 0)::int FROM bench_bookings WHERE event_id = $1::bigint) AS sold,
                (SELECT available FROM bench_events WHERE id = $1::bigint) AS available`;
  return withClient(e.db.databaseUrl, async (c) => (await c.query<{ sold: number; available: number }>(sql, [eventId])).rows[0]!);
}

/** Removes the pipeline's events of a finished run, so the next worker does not serve them. */
async function forgetEvents(e: Environment, ids: string[]): Promise<void> {
  await withClient(e.db.databaseUrl, async (c) => {
    await c.query('DELETE FROM bookings WHERE event_id = ANY($1)', [ids]);
    await c.query('DELETE FROM booking_requests WHERE event_id = ANY($1)', [ids]);
    await c.query('DELETE FROM accepted_requests WHERE event_id = ANY($1)', [ids]);
    await c.query('DELETE FROM events WHERE id = ANY($1)', [ids]);
  });
}

async function runOne(e: Environment, scenario: Scenario, strategy: Strategy): Promise<Result> {
  const target = await startTarget(e, strategy);
  let stopped = false;
  const eventIds: string[] = [];
  try {
    const warmupEventId = await target.createEvent('bench warm-up', 100);
    const eventId = await target.createEvent(`bench ${scenario.id}`, scenario.seats);
    eventIds.push(warmupEventId, eventId);
    const common = { baseUrl: target.baseUrl, eventId, userPrefix: `${strategy}-${scenario.id}-`, longPollSeconds: 30, warmupEventId };
    const plan: Plan =
      scenario.load.kind === 'burst'
        ? { kind: 'burst', ...common, users: scenario.load.users, warmupUsers: e.smoke ? 50 : 200, timeoutMs: 120_000 }
        : {
            kind: 'rate',
            ...common,
            rate: scenario.load.rate,
            durationMs: scenario.load.durationMs,
            connections: scenario.load.connections,
            warmupUsers: e.smoke ? 50 : 200,
            timeoutMs: 60_000,
          };
    let before = 0;
    let statsBefore = { transactions: 0, decisions: 0 };
    const load = await e.loadgen.run(plan, {
      ready: async () => {
        await flushStatistics([target.pool]);
        before = await transactionsOf(e.db.adminUrl, e.db.dbName);
        if (target.decisionStats) statsBefore = await target.decisionStats();
      },
    });
    let perTransaction: number | undefined;
    if (target.decisionStats) {
      const after = await target.decisionStats();
      const transactions = after.transactions - statsBefore.transactions;
      perTransaction = transactions > 0 ? (after.decisions - statsBefore.decisions) / transactions : undefined;
    }
    // Closing the pool ends its backends, which flush their statistics as they exit.
    await target.stop();
    stopped = true;
    await untilDisconnected(e.db.adminUrl, e.db.dbName);
    const transactions = (await transactionsOf(e.db.adminUrl, e.db.dbName)) - before;

    const { sold, available } = await seatsOf(e, strategy, eventId);
    const problems: string[] = [];
    if (available !== scenario.seats - sold) problems.push(`available ${available} but ${sold} of ${scenario.seats} seats sold`);
    if (sold !== load.confirmed) problems.push(`${sold} seats sold but ${load.confirmed} confirmations received`);
    const falseSoldOut = sold < scenario.seats ? load.soldOut : 0;
    return { scenario, strategy, load, capacity: scenario.seats, sold, available, transactions, falseSoldOut, problems, perTransaction };
  } finally {
    if (!stopped) await target.stop().catch(() => {});
    if (strategy === 'pipeline' && eventIds.length > 0) await forgetEvents(e, eventIds).catch(() => {});
  }
}

const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
const errorsOf = (r: Result) => sum(r.load.errors) + r.load.undecided;
const definiteOf = (r: Result) => r.load.confirmed + r.load.soldOut + sum(r.load.rejected);
const successOf = (r: Result) => r.load.confirmed + r.load.soldOut - r.falseSoldOut + sum(r.load.rejected);
const throughputOf = (r: Result) => (r.load.wallMs > 0 ? definiteOf(r) / (r.load.wallMs / 1000) : 0);
const labelOf = (s: Strategy) => STRATEGIES.find((x) => x.id === s)!.label;

function errorCell(r: Result): string {
  const total = errorsOf(r);
  if (total === 0) return '0';
  const parts = Object.entries(r.load.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}: ${int(n)}`);
  if (r.load.undecided > 0) parts.push(`undecided: ${int(r.load.undecided)}`);
  return `${int(total)} (${parts.join(', ')})`;
}

/**
 * Notes on the pipeline's rows: requests decided per worker transaction (group commit), and decisions
 * that reached their client late although the service had made them early (a long-poll that missed
 * its decision and answered only when its wait ran out).
 */
function pipelineNotes(results: Result[]): string {
  const pipeline = results.filter((r) => r.strategy === 'pipeline');
  const notes: string[] = [];
  const parts = pipeline.filter((r) => r.perTransaction !== undefined).map((r) => `${r.scenario.id} ${r.perTransaction!.toFixed(1)}`);
  if (parts.length > 0) notes.push(`Pipeline, requests decided per worker transaction (group commit), mean: ${parts.join(', ')}.`);
  for (const r of pipeline) {
    const late = (r.load.slow ?? []).filter((x) => x.decidedAfterMs !== undefined && x.ms - x.decidedAfterMs > 5_000);
    if (late.length > 0) {
      notes.push(
        `Pipeline, ${r.scenario.id}: ${late.length}${late.length === 20 ? '+' : ''} request(s) were decided ${ms(late[0]!.decidedAfterMs)} ms after acceptance ` +
          `but their long-poll answered only after ${ms(late[0]!.ms)} ms (${late[0]!.polls} poll): the decision did not wake the waiting long-poll.`,
      );
    }
  }
  return notes.join('\n\n');
}

function table(results: Result[]): string {
  const head =
    '| scenario | strategy | requests | success rate | seats sold | false sold-out | errors | oversold | submission p50 / p99 (ms) | decision p50 / p99 / max (ms) | PG transactions / request | decisions/s |';
  const rows = results.map((r) => {
    const cells = [
      `${r.scenario.id} (${r.scenario.label})`,
      labelOf(r.strategy),
      int(r.load.requests),
      pct(successOf(r), r.load.requests),
      `${int(r.sold)} / ${int(r.capacity)}`,
      int(r.falseSoldOut),
      errorCell(r),
      int(Math.max(0, r.sold - r.capacity)),
      `${ms(percentile(r.load.submitMs, 50))} / ${ms(percentile(r.load.submitMs, 99))}`,
      `${ms(percentile(r.load.decisionMs, 50))} / ${ms(percentile(r.load.decisionMs, 99))} / ${ms(percentile(r.load.decisionMs, 100))}`,
      r.load.requests > 0 ? (r.transactions / r.load.requests).toFixed(2) : 'n/a',
      int(throughputOf(r)),
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return [head, `|${'---|'.repeat(12)}`, ...rows].join('\n');
}

function chart(results: Result[], scenarios: Scenario[], strategies: Strategy[], subtitle: string): string {
  const series = strategies.map((s) => ({ name: labelOf(s), color: STRATEGIES.find((x) => x.id === s)!.color }));
  const at = (sc: Scenario, st: Strategy) => results.find((r) => r.scenario.id === sc.id && r.strategy === st);
  const values = (f: (r: Result) => number | undefined) => scenarios.map((sc) => strategies.map((st) => {
    const r = at(sc, st);
    return r ? f(r) : undefined;
  }));
  return barChartSvg({
    title: 'Booking strategies under contention: one event, same machine, same run',
    subtitle,
    groups: scenarios.map((s) => `${s.id}: ${s.label}`),
    series,
    panels: [
      {
        title: 'Success rate',
        unit: '% of requests with a definite answer (confirmed, or a justified SOLD_OUT), no error',
        values: values((r) => (r.load.requests > 0 ? (100 * successOf(r)) / r.load.requests : undefined)),
        max: 100,
        // One decimal at the ends (99.6 % must not read as 100 %), none in between.
        format: (v) => `${v.toFixed(v >= 10 && v < 99 ? 0 : 1)}%`,
      },
      {
        title: 'Decision latency p99',
        unit: 'ms, log scale (submission to decision received)',
        values: values((r) => percentile(r.load.decisionMs, 99)),
        log: true,
        format: (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)),
      },
      {
        title: 'Throughput',
        unit: 'decisions per second (definite answers / wall time)',
        values: values(throughputOf),
        format: (v) => int(v),
      },
      {
        title: 'Postgres transactions per request',
        unit: '(xact_commit + xact_rollback) / requests',
        values: values((r) => (r.load.requests > 0 ? r.transactions / r.load.requests : undefined)),
        format: (v) => v.toFixed(2),
      },
    ],
  });
}

async function main(): Promise<number> {
  const o = options();
  const env = parseEnv(serverEnv, process.env);
  const redis = { url: env.REDIS_URL, cluster: env.REDIS_CLUSTER };
  const prefix = benchPrefix();
  const db = await createBenchDatabase(env.DATABASE_URL);
  await withClient(db.databaseUrl, (c) => createStrategyTables(c));
  const loadgen = LoadGenerator.start();
  const e: Environment = { db, redis, prefix, env, loadgen, smoke: o.smoke };
  const cleanup = () => Promise.allSettled([loadgen.close(), db.drop(), deletePrefix(redis, prefix)]);
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    void cleanup().then(() => process.exit(130));
  });
  process.stdout.write(
    `strategy bench${o.smoke ? ' (smoke)' : ''}: ${o.scenarios.length} scenarios × ${o.strategies.length} strategies; database ${db.dbName}, prefix ${prefix}\n`,
  );
  const started = new Date();
  const load = os.loadavg()[0]!;
  try {
    const results: Result[] = [];
    for (const scenario of o.scenarios) {
      for (const strategy of o.strategies) {
        const r = await runOne(e, scenario, strategy);
        results.push(r);
        process.stdout.write(
          `${scenario.id.padEnd(12)} ${strategy.padEnd(18)} ${int(r.load.requests).padStart(7)} requests: ` +
            `${pct(successOf(r), r.load.requests)} success, ${int(r.sold)}/${int(r.capacity)} sold, ${int(errorsOf(r))} errors, ` +
            `decision p99 ${ms(percentile(r.load.decisionMs, 99))} ms (max ${ms(percentile(r.load.decisionMs, 100))}), ${int(throughputOf(r))} decisions/s, ` +
            `${(r.transactions / Math.max(1, r.load.requests)).toFixed(2)} PG xact/request` +
            `${r.perTransaction === undefined ? '' : `, ${r.perTransaction.toFixed(1)} decisions per worker transaction`}\n`,
        );
      }
    }
    const note = pipelineNotes(results);
    const md = note ? `${table(results)}\n\n${note}` : table(results);
    process.stdout.write(`\n${md}\n\n`);
    for (const r of results) {
      for (const p of r.problems) process.stdout.write(`${r.scenario.id} / ${r.strategy}: ${p}\n`);
    }
    for (const r of results) {
      if (r.strategy === 'pipeline' && r.load.slow?.length) {
        process.stdout.write(`${r.scenario.id} / pipeline: decisions that reached their client after over 5 s: ${JSON.stringify(r.load.slow)}\n`);
      }
    }

    const cpus = os.cpus();
    const info = await runLine(`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`, started, load);
    if (o.outDir) {
      await mkdir(o.outDir, { recursive: true });
      const doc = [
        '# Booking strategies benchmark',
        '',
        'The same scenarios, on the same machine in one run, against (1) this pipeline (the real API and worker,',
        '`startApi` + `startWorker` in the bench process, admission gate on, one pg pool of `DATABASE_POOL_SIZE`);',
        '(2) a synchronous API doing one conditional `UPDATE ... WHERE available >= n` and the booking `INSERT` in one',
        `transaction; (3) optimistic locking with a version column, retrying a version conflict at once up to ${OPTIMISTIC_RETRIES} times;`,
        '(4) pessimistic locking with `SELECT ... FOR UPDATE`. (2)-(4) are small Express servers in',
        '`loadtests/bench/strategies/` with tables of their own in the bench database and a pg pool of 10 connections that',
        'gives up after 2 s (`503`), like the service\'s; they answer synchronously, so their decision latency is their',
        'submission latency.',
        '',
        'Users run in a separate load-generator process over loopback HTTP (keep-alive connections opened beforehand, after',
        'a warm-up round on another event that is not measured). Every user asks for one seat. Burst scenarios: every user',
        'sends at the same moment on a connection of its own. Sustained: a fixed arrival rate (open model) on one event',
        'with 1,000,000 seats, over up to the given number of connections; latencies run from the scheduled arrival.',
        'For the pipeline a user long-polls (`?wait=30`) after its `202`; a `409 SOLD_OUT` at the door is a decision too.',
        '',
        '- **success rate**: requests that got a definite answer (confirmed, or a `SOLD_OUT` when no seat was left) without error;',
        '- **false sold-out**: `SOLD_OUT` answers while seats were left (the event did not sell out);',
        '- **errors**: answers that are not decisions: `5xx` (pool exhausted), `409 RETRIES_EXHAUSTED`, timeouts, or undecided;',
        '- **oversold**: confirmed seats beyond capacity (from the database);',
        '- **submission latency**: send to the answer of the booking request (`202`, or the synchronous decision); **decision',
        '  latency**: send to the decision received by the client (p50 / p99 / max, over requests that got one);',
        '- **PG transactions / request**: `xact_commit + xact_rollback` of the bench database (pg_stat_database), before and',
        '  after the measured part, over requests. For the pipeline this includes the journal writes and the long-polls\' reads;',
        '- **decisions/s**: definite answers over the wall time from the first request sent to the last answer.',
        '',
        info,
        '',
        md,
        '',
        '![chart](strategies.svg)',
        '',
      ].join('\n');
      await writeFile(join(o.outDir, 'strategies.md'), doc);
      await writeFile(
        join(o.outDir, 'strategies.svg'),
        chart(results, o.scenarios, o.strategies, `npm run bench, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus.length} CPUs, Node ${process.version}`),
      );
      process.stdout.write(`written to ${join(o.outDir, 'strategies.md')} and strategies.svg\n`);
    }
    if (o.readme) {
      if (await updateReadmeBlock('strategies-table', `${info}\n\n${md}`)) process.stdout.write('README.md updated\n');
      else process.stdout.write('README.md has no strategies-table block; not updated\n');
    }
    const oversold = results.some((r) => r.sold > r.capacity || r.problems.some((p) => p.startsWith('available')));
    const pipelineFailed = results.some((r) => r.strategy === 'pipeline' && (errorsOf(r) > 0 || r.problems.length > 0));
    return oversold || pipelineFailed ? 1 : 0;
  } finally {
    if (!interrupted) await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`strategy bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
