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

import { parseEnv, serverEnv } from '@booking/config';

import { createBenchDatabase, withClient } from './lib/database.ts';
import { LoadGenerator } from './lib/loadgen.ts';
import { benchPrefix, deletePrefix } from './lib/redis.ts';
import { updateReadmeBlock } from './lib/readme.ts';
import { runLine } from './lib/run-info.ts';
import { int, ms, pct, percentile } from './lib/stats.ts';
import { OPTIMISTIC_RETRIES } from './strategies/booking.ts';
import { options } from './strategies/options.ts';
import { chart, errorsOf, pipelineNotes, successOf, table, throughputOf } from './strategies/report.ts';
import { type Environment, type Result, runOne } from './strategies/run.ts';
import { createStrategyTables } from './strategies/schema.ts';

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
