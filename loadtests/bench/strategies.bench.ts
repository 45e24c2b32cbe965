// Strategy benchmark (run on demand, not a test): `npm run bench` at the repo root.
//
// Runs the same scenarios, on this machine in one run, against
//   (1) this pipeline: the real API and worker in this process (startApi + startWorker, one pg pool);
//   (2) a synchronous API doing one conditional UPDATE per request;
//   (3) optimistic locking with a version column and 3 retries (the predecessor's strategy);
//   (4) pessimistic locking, SELECT ... FOR UPDATE;
// (2)-(4) are small Express servers in loadtests/bench/strategies/ with tables of their own (bench_*)
// in the same bench database and a pg pool of 10, like the service's. The simulated users run in a
// load-generator process of their own (lib/loadgen.process.ts), over loopback HTTP. The pipeline's
// users submit and then long-poll (rows "submit + long-poll", the default client flow); by default
// the pipeline runs a second time with users sending one request with `Prefer: wait=30` (rows
// "Prefer: wait"; a 202 falls back to the long-poll). --client poll|prefer|both picks the flows.
//
// Scenarios: the predecessor's (1,000 users at once for 10 seats), a flash sale (10,000 users at
// once for 1,000 seats) and a sustained hot event (a fixed arrival rate for 10 s on one event with
// ample seats). Then the capacity sweep (strategies/sweep.ts): one hot event with ample seats, open-loop
// arrivals at 250, 500, 1,000, 2,000, 4,000/s for 5 s each, per strategy the achieved decisions/s
// and the decision p99; the highest offered rate each strategy kept up with (achieved >= 98 % of
// offered and p99 <= 1 s), and the pipeline's sustained rate over the rate at which the best
// synchronous strategy's p99 passes 1 s (target >= 2x). Prints markdown tables; a full default run
// writes loadtests/results/strategies.md, strategies.svg and capacity-sweep.svg and the tables into
// README.md (between the strategies-table and the capacity-sweep markers; a README without a pair of
// markers is left alone, with a message).
//
//   npm run bench                               the full run (about 10 minutes)
//   npm run bench -- --smoke                    tiny numbers, seconds; writes nothing
//   npm run bench -- --sweep                    the capacity sweep only (same as --scenarios sweep)
//   npm run bench -- --sweep --sweep-rates 1000,3000 --sweep-window 10 --client prefer
//   npm run bench -- --rate 3000 --out-dir /tmp/bench --no-readme
//
// A partial run (--scenarios, --sweep, --strategies, --client or other sizes) writes nothing unless
// --out-dir says where. Honours DATABASE_URL (only its server: the bench creates and drops
// booking_bench_<random>), REDIS_URL and the service's sizing variables (DATABASE_POOL_SIZE,
// RATE_LIMIT_*, WORKER_*); BENCH_LOG_LEVEL shows the service's logs; BENCH_AFTER_MIGRATE_SQL runs a SQL
// file on the bench database after the migrations. Exits 1 when any strategy oversells, or the
// pipeline leaves a request undecided or answers with an error; with --strict also when the sweep's
// target is missed.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

import { parseEnv, serverEnv } from '@booking/config';

import { createBenchDatabase, withClient } from './lib/database.ts';
import { LoadGenerator } from './lib/loadgen.ts';
import { updateReadmeBlock } from './lib/readme.ts';
import { benchPrefix, deletePrefix } from './lib/redis.ts';
import { runLine } from './lib/run-info.ts';
import { int, ms, pct, percentile } from './lib/stats.ts';
import { OPTIMISTIC_RETRIES } from './strategies/booking.ts';
import { isPipeline, KEPT_UP, options, SWEEP_TARGET_RATIO } from './strategies/options.ts';
import { chart, errorsOf, labelOf, pipelineNotes, successOf, table, throughputOf } from './strategies/report.ts';
import { type Environment, type Result, runOne } from './strategies/run.ts';
import { createStrategyTables } from './strategies/schema.ts';
import { leadInOf, sweepChart, type SweepPoint, sweepStrategy, sweepTable, verdictOf } from './strategies/sweep.ts';

async function main(): Promise<number> {
  const o = options();
  const env = parseEnv(serverEnv, process.env);
  const redis = { url: env.REDIS_URL, cluster: env.REDIS_CLUSTER };
  const prefix = benchPrefix();
  const db = await createBenchDatabase(env.DATABASE_URL);
  await withClient(db.databaseUrl, (c) => createStrategyTables(c));
  const loadgen = LoadGenerator.start();
  const e: Environment = { db, redis, prefix, env, loadgen, smoke: o.smoke, preferWaitSeconds: o.preferWaitSeconds };
  const cleanup = () => Promise.allSettled([loadgen.close(), db.drop(), deletePrefix(redis, prefix)]);
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    void cleanup().then(() => process.exit(130));
  });
  const flows = [
    o.strategies.includes('pipeline') ? 'submit + long-poll (?wait=30)' : undefined,
    o.strategies.includes('pipeline-prefer') ? `one request with Prefer: wait=${o.preferWaitSeconds}` : undefined,
  ].filter(Boolean);
  const clientLine = flows.length ? `pipeline clients: ${flows.join(', and ')}` : 'pipeline not run';
  const sweepLine = o.sweep
    ? `capacity sweep ${o.sweep.rates.map((r) => int(r)).join(', ')}/s × ${o.sweep.windowMs / 1000} s`
    : 'no capacity sweep';
  process.stdout.write(
    `strategy bench${o.smoke ? ' (smoke)' : ''}: ${o.scenarios.length} scenarios × ${o.strategies.length} strategies, ${sweepLine}; ${clientLine}; database ${db.dbName}, prefix ${prefix}\n`,
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
    const points: SweepPoint[] = [];
    if (o.sweep) {
      for (const strategy of o.strategies) {
        points.push(
          ...(await sweepStrategy(e, o.sweep, strategy, (p) =>
            process.stdout.write(
              `sweep ${`${int(p.rate)}/s`.padEnd(8)} ${strategy.padEnd(18)} ${int(p.load.requests).padStart(7)} requests over ${int(p.connections)} connections: ` +
                `${int(p.achieved)} decisions/s achieved (${((100 * p.achieved) / p.rate).toFixed(1)} %), decision p99 ${Number.isFinite(p.p99) ? `${ms(p.p99)} ms` : 'none (over 1 % without a decision)'}, ` +
                `${int(p.errors)} errors${p.load.preferFallbacks ? `, ${int(p.load.preferFallbacks)} Prefer submissions answered 202` : ''}: ${p.keptUp ? 'kept up' : 'did not keep up'}` +
                `${p.problems.length ? ` (${p.problems.join('; ')})` : ''}\n` +
                (isPipeline(p.strategy) && p.load.slow?.length
                  ? `  decisions that reached their client after over 5 s: ${JSON.stringify(p.load.slow.slice(0, 5))}\n`
                  : ''),
            ),
          )),
        );
      }
    }
    const note = pipelineNotes(results);
    const md = results.length === 0 ? '' : note ? `${table(results)}\n\n${note}` : table(results);
    const sweepMd = o.sweep ? sweepTable(points, o.sweep, o.strategies) : '';
    const verdict = o.sweep ? verdictOf(points, o.sweep, o.strategies) : undefined;
    const fallbacks = points.filter((p) => p.strategy === 'pipeline-prefer').reduce((n, p) => n + (p.load.preferFallbacks ?? 0), 0);
    const sweepNote = points.some((p) => p.strategy === 'pipeline-prefer')
      ? `\n\nPipeline (Prefer: wait=${o.preferWaitSeconds}) in the sweep: ${fallbacks === 0 ? 'every submission got its decision in the one request' : `${int(fallbacks)} submissions were not decided within the wait, answered 202 and were long-polled`}.`
      : '';
    if (md) process.stdout.write(`\n${md}\n\n`);
    if (sweepMd) process.stdout.write(`\n## Capacity sweep\n\n${sweepMd}${sweepNote}\n\n`);
    for (const r of results) {
      for (const p of r.problems) process.stdout.write(`${r.scenario.id} / ${r.strategy}: ${p}\n`);
    }
    for (const r of results) {
      if (isPipeline(r.strategy) && r.load.slow?.length) {
        process.stdout.write(
          `${r.scenario.id} / pipeline: decisions that reached their client after over 5 s: ${JSON.stringify(r.load.slow)}\n`,
        );
      }
    }

    const cpus = os.cpus();
    const info = await runLine(`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`, started, load);
    const stamp = `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus.length} CPUs, Node ${process.version}`;
    const sweepSection = o.sweep
      ? [
          '## Capacity sweep',
          '',
          `One hot event with ${int(o.sweep.seats)} seats (it never sells out) per offered rate, a fresh one each time; for each strategy one`,
          `server for the whole sweep, the rates in ascending order (${o.sweep.rates.map((r) => int(r)).join(', ')} arrivals/s), each held for`,
          `${o.sweep.windowMs / 1000} s (open model: a new user every 1/rate s whatever the answers so far), over keep-alive connections`,
          `(${o.sweep.connectionsText}; a user finding none free waits for one, and the wait counts), after a warm-up round on`,
          'another event. Latencies run from the scheduled arrival.',
          '',
          `- **achieved decisions/s**: definite answers (confirmed, or a rejection) that reached their clients between ${leadInOf(o.sweep.windowMs) / 1000} s after the`,
          '  first arrival (the lead-in, while departures catch up with arrivals) and the end of the arrivals, per second of that span;',
          '  errors and answers after the arrivals ended do not count;',
          '- **decision p99**: over every request of the rate, a request that got no decision (an error, a timeout) counting as never',
          '  decided: over 1 % without a decision leaves no p99 ("none");',
          `- **kept up**: achieved >= ${100 * KEPT_UP.achievedShare} % of offered, p99 <= ${KEPT_UP.p99Ms / 1000} s, and the database agreeing with the answers;`,
          `- **ratio**: the pipeline's highest offered rate kept up with, over the first offered rate at which the best synchronous strategy's`,
          `  p99 passed 1 s (the best: the one that stays within 1 s up to the highest rate). Target >= ${SWEEP_TARGET_RATIO}×. The default client flow`,
          '  (submit + long-poll) counts for the target; the Prefer row is reported beside it.',
          '',
          sweepMd + sweepNote,
          '',
          '![capacity sweep](capacity-sweep.svg)',
          '',
        ]
      : [];
    if (o.outDir) {
      await mkdir(o.outDir, { recursive: true });
      const scenarioSection = results.length === 0 ? [] : [md, '', '![chart](strategies.svg)', ''];
      const doc = [
        '# Booking strategies benchmark',
        '',
        'The same scenarios, on the same machine in one run, against (1) this pipeline (the real API and worker,',
        '`startApi` + `startWorker` in the bench process, admission gate on, `DATABASE_POOL_SIZE` connections in all, a pool for each role);',
        '(2) a synchronous API doing one conditional `UPDATE ... WHERE available >= n` and the booking `INSERT` in one',
        `transaction; (3) optimistic locking with a version column, retrying a version conflict at once up to ${OPTIMISTIC_RETRIES} times;`,
        '(4) pessimistic locking with `SELECT ... FOR UPDATE`. (2)-(4) are small Express servers in',
        '`loadtests/bench/strategies/` with tables of their own in the bench database and a pg pool of 10 connections that',
        "gives up after 2 s (`503`), like the service's; they answer synchronously, so their decision latency is their",
        'submission latency.',
        '',
        'Users run in a separate load-generator process over loopback HTTP (keep-alive connections opened beforehand, after',
        'a warm-up round on another event that is not measured). Every user asks for one seat. Burst scenarios: every user',
        'sends at the same moment on a connection of its own. Sustained: a fixed arrival rate (open model) on one event',
        'with 1,000,000 seats, over up to the given number of connections; latencies run from the scheduled arrival.',
        'For the pipeline a user long-polls (`?wait=30`) after its `202` (rows "submit + long-poll", the default client flow);',
        `in the rows "Prefer: wait" a user sends one request with \`Prefer: wait=${o.preferWaitSeconds}\` and gets the decided request in its \`200\``,
        '(a `202`, not decided within the wait, falls back to the long-poll). A `409 SOLD_OUT` at the door is a decision too.',
        '',
        '- **success rate**: requests that got a definite answer (confirmed, or a `SOLD_OUT` when no seat was left) without error;',
        '- **false sold-out**: `SOLD_OUT` answers while seats were left (the event did not sell out);',
        '- **errors**: answers that are not decisions: `5xx` (pool exhausted), `409 RETRIES_EXHAUSTED`, timeouts, or undecided;',
        '- **oversold**: confirmed seats beyond capacity (from the database);',
        '- **submission latency**: send to the answer of the booking request (`202`, or the synchronous decision); **decision',
        '  latency**: send to the decision received by the client (p50 / p99 / max, over requests that got one);',
        '- **PG transactions / request**: `xact_commit + xact_rollback` of the bench database (pg_stat_database), before and',
        "  after the measured part, over requests. For the pipeline this includes the journal writes and the long-polls' reads;",
        '- **decisions/s**: definite answers over the wall time from the first request sent to the last answer.',
        '',
        info,
        '',
        ...scenarioSection,
        ...sweepSection,
      ].join('\n');
      const written = ['strategies.md'];
      await writeFile(join(o.outDir, 'strategies.md'), doc);
      if (results.length > 0) {
        await writeFile(join(o.outDir, 'strategies.svg'), chart(results, o.scenarios, o.strategies, `npm run bench, ${stamp}`));
        written.push('strategies.svg');
      }
      if (o.sweep) {
        await writeFile(join(o.outDir, 'capacity-sweep.svg'), sweepChart(points, o.sweep, o.strategies, `npm run bench, ${stamp}`));
        written.push('capacity-sweep.svg');
      }
      process.stdout.write(`written to ${join(o.outDir, written[0]!)}${written.length > 1 ? ` and ${written.slice(1).join(', ')}` : ''}\n`);
    } else if (!o.smoke) {
      process.stdout.write('a partial run: results not written (give --out-dir to keep them)\n');
    }
    if (o.readme) {
      if (await updateReadmeBlock('strategies-table', `${info}\n\n${md}`)) process.stdout.write('README.md updated (strategies-table)\n');
      else process.stdout.write('README.md has no strategies-table block; not updated\n');
      const sweepBlock = `${info}\n\n${sweepMd}${sweepNote}\n\n![capacity sweep: achieved decisions/s and decision p99 by offered rate and strategy](loadtests/results/capacity-sweep.svg)`;
      if (await updateReadmeBlock('capacity-sweep', sweepBlock)) process.stdout.write('README.md updated (capacity-sweep)\n');
      else {
        process.stdout.write(
          'README.md has no capacity-sweep block (a line `<!-- capacity-sweep:begin -->` and a line `<!-- capacity-sweep:end -->` in its Benchmarks section); ' +
            'the sweep is not in the README, only in loadtests/results/strategies.md and capacity-sweep.svg\n',
        );
      }
    }
    const oversold =
      results.some((r) => r.sold > r.capacity || r.problems.some((p) => p.startsWith('available'))) ||
      points.some((p) => p.problems.some((x) => x.startsWith('available')));
    const pipelineFailed =
      results.some((r) => isPipeline(r.strategy) && (errorsOf(r) > 0 || r.problems.length > 0)) ||
      points.some((p) => isPipeline(p.strategy) && (p.errors > 0 || p.problems.length > 0));
    if (pipelineFailed) {
      for (const p of points.filter((x) => isPipeline(x.strategy) && (x.errors > 0 || x.problems.length > 0))) {
        process.stdout.write(
          `sweep ${p.rate}/s / ${labelOf(p.strategy)}: ${p.errors} answers without a decision${p.problems.length ? `; ${p.problems.join('; ')}` : ''}\n`,
        );
      }
    }
    if (verdict) process.stdout.write(`capacity sweep target (>= ${SWEEP_TARGET_RATIO}×): ${verdict.met ? 'met' : 'NOT met'}\n`);
    return oversold || pipelineFailed || (o.strict && verdict !== undefined && !verdict.met) ? 1 : 0;
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
