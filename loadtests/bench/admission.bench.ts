// Admission-gate benchmark (run on demand, not a test): `npm run bench:admission` at the repo root.
//
// Starts the real API and a worker in this process, on a database and a Redis key prefix of its own,
// and runs the flash-sale scenario twice, with the admission gate on and off: N concurrent users for
// S seats, each submitting once and long-polling its request when it got a 202. Prints the figures
// as a markdown table and (full mode) writes it to loadtests/results/admission.md.
//
//   npm run bench:admission                  1,000 users for 10 seats
//   npm run bench:admission -- --smoke       100 users for 5 seats (seconds; used by a CI test)
//   ... -- --users 5000 --seats 50 --out /tmp/admission.md
//
// Honours DATABASE_URL (only its server is used: the bench creates and drops booking_bench_<random>),
// REDIS_URL / REDIS_CLUSTER, DATABASE_POOL_SIZE, RATE_LIMIT_*, WORKER_* and HOUSEKEEPING_INTERVAL_MS like the
// server does; BENCH_LOG_LEVEL shows the service's logs. Exits 1 when a seat is oversold, a request
// is left undecided or an answer is neither 202 nor 409 SOLD_OUT.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

import { parseEnv, type ServerEnv, serverEnv } from '@booking/config';
import type { RedisSettings } from '@booking/queue';

import type { ClientPlan, ClientResult } from './admission.client.ts';
import { type BenchDatabase, createBenchDatabase, flushStatistics, transactionsOf, untilDisconnected, withClient } from './lib/database.ts';
import { benchPrefix, deletePrefix } from './lib/redis.ts';
import { startService } from './lib/service.ts';
import { ms, percentile } from './lib/stats.ts';

const LONG_POLL_SECONDS = 30;

interface Options {
  users: number;
  seats: number;
  smoke: boolean;
  out: string | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      users: { type: 'string' },
      seats: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const users = Number(values.users ?? (smoke ? 100 : 1000));
  const seats = Number(values.seats ?? (smoke ? 5 : 10));
  if (!Number.isInteger(users) || users < 1 || !Number.isInteger(seats) || seats < 1) {
    throw new Error('--users and --seats must be positive integers');
  }
  const defaultOut = fileURLToPath(new URL('../results/admission.md', import.meta.url));
  return { users, seats, smoke, out: values.out ?? (smoke ? undefined : defaultOut) };
}

interface Result extends ClientResult {
  gate: boolean;
  users: number;
  oversold: number;
  transactions: number;
}

/** Runs the users in a worker thread (see admission.client.ts); `beforeGo` runs once its connections are open. */
async function runClients(plan: ClientPlan, beforeGo: () => Promise<void>): Promise<ClientResult> {
  // Node 20 does not pass tsx's loader on to worker threads: register it in the thread first.
  const tsx = import.meta.resolve('tsx/esm/api');
  const client = new URL('./admission.client.ts', import.meta.url).href;
  const thread = new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(client)}); })`, {
    eval: true,
    workerData: plan,
  });
  try {
    return await new Promise<ClientResult>((resolve, reject) => {
      thread.once('error', reject);
      thread.once('exit', (code) => reject(new Error(`the client thread exited (${code}) before reporting`)));
      thread.on('message', (message: 'ready' | ClientResult) => {
        if (message === 'ready') {
          beforeGo().then(() => thread.postMessage('go'), reject);
        } else {
          resolve(message);
        }
      });
    });
  } finally {
    await thread.terminate();
  }
}

interface Environment {
  db: BenchDatabase;
  redis: RedisSettings;
  prefix: string;
  env: ServerEnv;
}

/** Starts an API and a worker, runs the sale once, stops them. */
async function scenario(e: Environment, gate: boolean, o: Options): Promise<Result> {
  const stack = await startService({ databaseUrl: e.db.databaseUrl, redis: e.redis, prefix: e.prefix, env: e.env, admissionGate: gate });
  let stopped = false;
  try {
    const warmupEventId = await stack.createEvent('bench warm-up', o.seats);
    const eventId = await stack.createEvent(`bench gate ${gate ? 'on' : 'off'}`, o.seats);

    let before = 0;
    const clients = await runClients(
      { baseUrl: stack.baseUrl, eventId, warmupEventId, users: o.users, longPollSeconds: LONG_POLL_SECONDS },
      async () => {
        await flushStatistics([stack.pool]);
        before = await transactionsOf(e.db.adminUrl, e.db.dbName);
      },
    );
    const result: Result = { ...clients, gate, users: o.users, oversold: 0, transactions: 0 };

    // Closing the pool ends its backends, which flush their statistics as they exit.
    await stack.stop();
    stopped = true;
    await untilDisconnected(e.db.adminUrl, e.db.dbName);
    result.transactions = (await transactionsOf(e.db.adminUrl, e.db.dbName)) - before;

    const rows = await checkDb(e.db.databaseUrl, eventId);
    result.oversold = Math.max(0, rows.sold - o.seats);
    if (rows.available < 0 || rows.available !== o.seats - rows.sold)
      result.unexpected.push(`available=${rows.available} sold=${rows.sold}`);
    return result;
  } finally {
    if (!stopped) await stack.stop().catch(() => {});
  }
}

async function checkDb(url: string, eventId: string): Promise<{ sold: number; available: number }> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ sold: number; available: number }>(
      `SELECT (SELECT coalesce(sum(quantity), 0)::int FROM bookings WHERE event_id = $1 AND status = 'confirmed') AS sold,
              (SELECT available FROM events WHERE id = $1) AS available`,
      [eventId],
    );
    return rows[0]!;
  });
}

const ratio = (on: number | undefined, off: number | undefined) =>
  on === undefined || off === undefined || off === 0 ? '—' : `${(on / off).toFixed(3)}×`;

function table(on: Result, off: Result): string {
  const share = (r: Result) => `${((100 * r.fastRejected) / r.users).toFixed(1)} %`;
  const perRequest = (r: Result) => r.transactions / r.users;
  const rows: Array<[string, string, string, string]> = [
    ['requests (users × 1)', String(on.users), String(off.users), '—'],
    ['fast-rejected (409 SOLD_OUT at submission)', share(on), share(off), '—'],
    [
      'fast-rejection latency p50 / p99 (ms)',
      `${ms(percentile(on.fastRejectMs, 50))} / ${ms(percentile(on.fastRejectMs, 99))}`,
      `${ms(percentile(off.fastRejectMs, 50))} / ${ms(percentile(off.fastRejectMs, 99))}`,
      '—',
    ],
    [
      'decision latency p50 / p99, admitted (ms)',
      `${ms(percentile(on.decisionMs, 50))} / ${ms(percentile(on.decisionMs, 99))}`,
      `${ms(percentile(off.decisionMs, 50))} / ${ms(percentile(off.decisionMs, 99))}`,
      `${ratio(percentile(on.decisionMs, 50), percentile(off.decisionMs, 50))} / ${ratio(percentile(on.decisionMs, 99), percentile(off.decisionMs, 99))}`,
    ],
    [
      'admitted (202) requests',
      String(on.decisionMs.length + on.undecided),
      String(off.decisionMs.length + off.undecided),
      ratio(on.decisionMs.length, off.decisionMs.length),
    ],
    ['total wall time (ms)', ms(on.wallMs), ms(off.wallMs), ratio(on.wallMs, off.wallMs)],
    ['confirmed', String(on.confirmed), String(off.confirmed), '—'],
    ['oversold seats', String(on.oversold), String(off.oversold), '—'],
    ['undecided / unexpected answers', `${on.undecided} / ${on.unexpected.length}`, `${off.undecided} / ${off.unexpected.length}`, '—'],
    ['Postgres transactions (total)', String(on.transactions), String(off.transactions), ratio(on.transactions, off.transactions)],
    ['Postgres transactions per request', perRequest(on).toFixed(3), perRequest(off).toFixed(3), ratio(perRequest(on), perRequest(off))],
  ];
  return ['| metric | gate on | gate off | ratio (on ÷ off) |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

async function main(): Promise<number> {
  const o = options();
  const env = parseEnv(serverEnv, process.env);
  const db = await createBenchDatabase(env.DATABASE_URL);
  const e: Environment = { db, redis: { url: env.REDIS_URL, cluster: env.REDIS_CLUSTER }, prefix: benchPrefix(), env };
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    void Promise.allSettled([db.drop(), deletePrefix(e.redis, e.prefix)]).then(() => process.exit(130));
  });

  process.stdout.write(
    `admission bench: ${o.users} users for ${o.seats} seats${o.smoke ? ' (smoke)' : ''}; database ${db.dbName}, prefix ${e.prefix}\n`,
  );
  try {
    const on = await scenario(e, true, o);
    process.stdout.write(`gate on:  done in ${ms(on.wallMs)} ms\n`);
    const off = await scenario(e, false, o);
    process.stdout.write(`gate off: done in ${ms(off.wallMs)} ms\n`);

    const md = table(on, off);
    process.stdout.write(`\n${md}\n\n`);
    for (const r of [on, off]) {
      if (r.unexpected.length > 0) {
        process.stdout.write(`gate ${r.gate ? 'on' : 'off'} unexpected: ${r.unexpected.slice(0, 10).join(', ')}\n`);
      }
    }
    if (o.out) {
      const doc = [
        '# Admission gate benchmark',
        '',
        `${o.users} concurrent users for ${o.seats} seats, each submitting once and long-polling its request when it got a \`202\`.`,
        'API and one worker in one process (`startApi` + `startWorker`); the clients run in a worker thread of that process, over loopback',
        'HTTP with one keep-alive connection per user opened beforehand, after a warm-up round on another event (not measured).',
        'Latencies are client-measured; "decision latency" runs from the submission to the long-poll answering with the decision.',
        'Postgres transactions are `xact_commit + xact_rollback` of the bench database (pg_stat_database), before and after the scenario.',
        '',
        `Run: \`npm run bench:admission\` on ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), shared machine.`,
        '',
        md,
        '',
      ].join('\n');
      await mkdir(dirname(o.out), { recursive: true });
      await writeFile(o.out, doc);
      process.stdout.write(`written to ${o.out}\n`);
    }
    const failed = [on, off].some((r) => r.oversold > 0 || r.undecided > 0 || r.unexpected.length > 0);
    return failed ? 1 : 0;
  } finally {
    if (!interrupted) await Promise.allSettled([db.drop(), deletePrefix(e.redis, e.prefix)]);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`admission bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
