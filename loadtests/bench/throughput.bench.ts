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
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname } from 'node:path';

import { parseEnv, serverEnv } from '@booking/config';

import { formatCpu } from './lib/cpu.ts';
import { type BenchDatabase, createBenchDatabase } from './lib/database.ts';
import { LoadGenerator } from './lib/loadgen.ts';
import { openFilesLimit } from './lib/processes.ts';
import { benchPrefix, deletePrefix } from './lib/redis.ts';
import { updateReadmeBlock } from './lib/readme.ts';
import { runLine } from './lib/run-info.ts';
import { int, ms } from './lib/stats.ts';
import type { Environment } from './throughput/common.ts';
import { type PartA, partA } from './throughput/drain.ts';
import { type PartB, partB } from './throughput/e2e.ts';
import { type PartC, partC } from './throughput/longpolls.ts';
import { options } from './throughput/options.ts';
import { report, summary } from './throughput/report.ts';

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
