// Throughput benchmark (run on demand, not a test): `npm run bench:throughput` at the repo root.
//
// Measures the service's throughput targets, with the users in a separate load-generator process
// (lib/loadgen.process.ts) over loopback HTTP, every figure against a baseline measured in the same
// run:
//
//   bare door (throughput/bare-door.main.ts): a minimal server in the benchmark, compiled and started
//       like the roles: Express 5 + express.json() + one Redis EVALSHA + 409 problem+json. Its
//       req/s under the same closed-loop clients and connections as (i)-(iii), and the time it takes
//       to answer (d)'s burst. Every figure of (i), (ii), (iii) is a ratio to its req/s, (d) to its time.
//   (i)   the service's door for a sold-out event (the admission gate answers 409 SOLD_OUT): 409s/s.
//         Target: >= 0.8x the bare door.
//   (a)   one hot event, ample seats: decisions/s through one worker from a filled queue (requests
//         submitted through the real API while no worker runs), against the one-transaction-per-booking
//         figure of pgbench measured in the same run (1 client, a conditional UPDATE of a hot row + one
//         INSERT per transaction). Targets: >= 10,000 decisions/s and >= 5x pgbench's tps.
//   (ii)  (b) end to end over HTTP: clients on keep-alive connections each submit and then long-poll
//         their request, again and again; decisions/s over a 10 s window and p50/p99 decision latency.
//         Targets: >= 0.5x the bare door (and the older >= 4,000 decisions/s).
//   (iii) the same with one request per booking, `Prefer: wait=30` (a 202 falls back to the
//         long-poll). Target: >= 0.8x the bare door.
//   (c)   10,000 concurrent long-polls on one API process (no worker, so the requests stay pending):
//         its resident memory (VmRSS) while they wait. Target: < 300 MB.
//   (d)   1,000 users at once for 10 seats: the time until every one has its final answer (409 at
//         the door, or decided), submit + long-poll (counted) and Prefer: wait (beside it), against
//         the bare door answering the same burst. Target: <= 1.5x.
//
// (i), (ii), (iii) and (d) run against the service in each mode of --mode: `split` (API and worker as
// separate processes, as `npm run start:api` / `start:worker` run them) and `single` (`npm start`,
// apps/server/src/main.ts, both in one process); the default `both` runs split, then single (about
// 1.5 minutes more than split alone). (a) and (c) run as separate processes, as before. Each part
// gets a database, a Redis key prefix and processes of its own. For each it samples CPU per process
// (service, load generator, Redis, Postgres) over the measured window, so a missed target comes
// with where the time went.
//
//   npm run bench:throughput                         everything; writes loadtests/results/throughput.md
//   npm run bench:throughput -- --smoke              tiny numbers, seconds; writes nothing
//   npm run bench:throughput -- --mode split --only door,b,prefer,d
//   npm run bench:throughput -- --only a,b --fill 100000 --connections 2000 --out /tmp/t.md
//   npm run bench:throughput -- --auth jwt --only door,b,prefer --out /tmp/jwt.md
//                                                    the service with AUTH_MODE=jwt, every user sending
//                                                    an HS256 bearer token (the cost of verifying it)
//
// Parts for --only: door, a, b, prefer, c, d (the bare door runs with any of door, b, prefer, d).
// Honours DATABASE_URL (only its server: the bench creates and drops booking_bench_<random>), REDIS_URL,
// PGBENCH (default /usr/lib/postgresql/15/bin/pgbench, else pgbench on PATH). For experiments without
// touching the product: BENCH_API_NODE_OPTIONS / BENCH_WORKER_NODE_OPTIONS / BENCH_SERVER_NODE_OPTIONS /
// BENCH_BARE_NODE_OPTIONS add Node flags to a process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`,
// `--max-old-space-size=200`), BENCH_AFTER_MIGRATE_SQL runs a SQL file on each bench database after
// the migrations (e.g. another decide_booking_batch). Exits 1 when a run fails or loses a request
// (an answer that is not a decision, a user of (d) without a final answer, a seat oversold); with
// --strict also when a target is missed. Writes the summary into README.md (throughput-summary block)
// after a full run at the default sizes and modes.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname } from 'node:path';

import { parseEnv, serverEnv } from '@booking/config';
import { auditInvariants, createDb } from '@booking/db';

import { formatCpu } from './lib/cpu.ts';
import { type BenchDatabase, createBenchDatabase } from './lib/database.ts';
import { LoadGenerator } from './lib/loadgen.ts';
import { buildWorkspaces, FROM_SOURCE, openFilesLimit } from './lib/processes.ts';
import { updateReadmeBlock } from './lib/readme.ts';
import { benchPrefix, deletePrefix } from './lib/redis.ts';
import { runLine } from './lib/run-info.ts';
import { int, ms } from './lib/stats.ts';
import { type Environment, MODE_LABEL } from './throughput/common.ts';
import { partBare, partBurst, partDoor } from './throughput/door.ts';
import { partA } from './throughput/drain.ts';
import { partB } from './throughput/e2e.ts';
import { partC } from './throughput/longpolls.ts';
import { options } from './throughput/options.ts';
import { type Figures, report, summary } from './throughput/report.ts';

async function main(): Promise<number> {
  const o = options();
  const env = parseEnv(serverEnv, process.env);
  if (env.REDIS_CLUSTER) throw new Error('the throughput bench runs against a single Redis (REDIS_CLUSTER=false)');
  const limit = openFilesLimit();
  if (o.only.has('c') && limit < o.holds + 2_000) {
    throw new Error(
      `(c) needs ${o.holds} sockets per process but the open-files limit is ${limit}: raise it (ulimit -n 65536) or lower --holds`,
    );
  }
  // The roles run compiled, as `npm start` runs them: build what changed first.
  if (!FROM_SOURCE) {
    const built = performance.now();
    buildWorkspaces();
    process.stdout.write(`npm run build: ${((performance.now() - built) / 1000).toFixed(1)} s\n`);
  }
  const redis = { url: env.REDIS_URL, cluster: false };
  const loadgen = LoadGenerator.start();
  const adminKey = `bench-${randomBytes(12).toString('hex')}`;
  // --auth jwt: the service verifies a bearer token on every submission, which every user sends.
  const jwtSecret = o.auth === 'jwt' ? randomBytes(32).toString('base64url') : undefined;
  loadgen.jwtSecret = jwtSecret;
  // Each part gets a database and a key prefix of its own, so that none sees what another left.
  let current: { db: BenchDatabase; prefix: string } | undefined;
  const violations: string[] = [];
  const part = async <T>(fn: (e: Environment) => Promise<T>): Promise<T> => {
    const db = await createBenchDatabase(env.DATABASE_URL);
    const prefix = benchPrefix();
    current = { db, prefix };
    try {
      const result = await fn({ db, redisUrl: env.REDIS_URL, prefix, adminKey, loadgen, ...(jwtSecret ? { jwtSecret } : {}) });
      // The operators' audit (`npm run verify`) of the part's database, before it is dropped.
      const audit = createDb({ url: db.databaseUrl, poolSize: 1, applicationName: 'booking-bench-audit' });
      try {
        for (const v of await auditInvariants(audit.db)) violations.push(`audit: event ${v.eventId ?? '-'}: ${v.problem}`);
      } finally {
        await audit.db.destroy();
      }
      return result;
    } finally {
      await Promise.allSettled([db.drop(), deletePrefix(redis, prefix)]);
      current = undefined;
    }
  };
  const cleanup = () => Promise.allSettled([loadgen.close(), ...(current ? [current.db.drop(), deletePrefix(redis, current.prefix)] : [])]);
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    void cleanup().then(() => process.exit(130));
  });
  const info = await runLine(
    `npm run bench:throughput${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    new Date(),
    os.loadavg()[0]!,
  );
  const serviceParts = ['door', 'b', 'prefer', 'd'].some((p) => o.only.has(p as 'door'));
  process.stdout.write(
    `throughput bench${o.smoke ? ' (smoke)' : ''}${o.auth === 'jwt' ? ' with AUTH_MODE=jwt (a bearer token per user)' : ''}: parts ${[...o.only].join(', ')}; service parts in ${o.modes.map((m) => MODE_LABEL[m]).join(' and in ')}; open-files limit ${limit}\n`,
  );
  try {
    const f: Figures = { modes: o.modes, bare: undefined, doors: [], a: undefined, polls: [], prefers: [], c: undefined, bursts: [] };
    const rate = (v: number) => (f.bare ? ` = ${(v / f.bare.door.perSecond).toFixed(2)}× the bare door` : '');
    if (serviceParts) {
      f.bare = await part((e) => partBare(e, o));
      process.stdout.write(
        `bare door: ${int(f.bare.door.perSecond)} 409s/s, ${int(f.bare.door.connections)} clients, p50/p99 ${ms(f.bare.door.p50)} / ${ms(f.bare.door.p99)} ms, errors ${f.bare.door.errors}; ` +
          `${int(f.bare.burst.users)} at once answered in ${ms(f.bare.burst.wallMs)} ms\n    CPU: ${formatCpu(f.bare.door.cpu)}\n`,
      );
    }
    if (o.only.has('door')) {
      for (const mode of o.modes) {
        const d = await part((e) => partDoor(e, o, mode));
        f.doors.push(d);
        process.stdout.write(
          `(i) ${mode}: ${int(d.perSecond)} 409s/s at the door of a sold-out event${rate(d.perSecond)}, p50/p99 ${ms(d.p50)} / ${ms(d.p99)} ms, other answers ${d.errors}\n` +
            `    CPU: ${formatCpu(d.cpu)}\n`,
        );
      }
    }
    if (o.only.has('a')) {
      const a = await part((e) => partA(e, o));
      f.a = a;
      process.stdout.write(
        `(a) ${int(a.decisionsPerSecond)} decisions/s through one worker (${(a.decisionsPerSecond / a.pgbenchTps).toFixed(2)}× pgbench's ${int(a.pgbenchTps)} tps)\n` +
          `    CPU: ${formatCpu(a.cpu)}\n`,
      );
    }
    for (const flow of ['poll', 'prefer'] as const) {
      if (!o.only.has(flow === 'poll' ? 'b' : 'prefer')) continue;
      for (const mode of o.modes) {
        const b = await part((e) => partB(e, o, mode, flow));
        (flow === 'poll' ? f.polls : f.prefers).push(b);
        process.stdout.write(
          `(${flow === 'poll' ? 'ii' : 'iii'}) ${mode}, ${flow === 'poll' ? 'submit + long-poll' : `Prefer: wait=${o.preferWaitSeconds}`}: ${int(b.perSecond)} decisions/s end to end${rate(b.perSecond)}, ` +
            `${int(b.connections)} clients, decision p50/p99 ${ms(b.p50)} / ${ms(b.p99)} ms, errors ${b.errors}` +
            `${flow === 'prefer' ? `, ${int(b.preferFallbacks)} answered 202 and long-polled` : ''}\n    CPU: ${formatCpu(b.cpu)}\n`,
        );
      }
    }
    if (o.only.has('c')) {
      const c = await part((e) => partC(e, o));
      f.c = c;
      process.stdout.write(
        `(c) API VmRSS ${c.holdingMiB.toFixed(0)} MiB holding ${int(c.held)} long-polls (idle ${c.idleMiB.toFixed(0)} MiB, peak ${c.peakMiB.toFixed(0)} MiB), errors ${c.errors}\n`,
      );
    }
    if (o.only.has('d')) {
      for (const mode of o.modes) {
        const bursts = await part((e) => partBurst(e, o, mode, ['poll', 'prefer']));
        f.bursts.push(...bursts);
        for (const b of bursts) {
          process.stdout.write(
            `(d) ${mode}, ${b.flow === 'poll' ? 'submit + long-poll' : `Prefer: wait=${o.preferWaitSeconds}`}: ${int(b.users)} at once for ${int(b.seats ?? 0)} seats, ` +
              `every final answer in ${ms(b.wallMs)} ms${f.bare ? ` = ${(b.wallMs / f.bare.burst.wallMs).toFixed(2)}× the bare door's ${ms(f.bare.burst.wallMs)} ms` : ''}; ` +
              `${int(b.confirmed)} confirmed, ${int(b.soldOut)} SOLD_OUT, without an answer ${b.errors}${b.problems.length ? `; ${b.problems.join('; ')}` : ''}\n`,
          );
        }
      }
    }
    const { md, met } = report(f, info);
    process.stdout.write(`\n${md}\n`);
    process.stdout.write(`targets: ${met ? 'all met' : 'NOT all met'}\n`);
    if (o.out) {
      const doc = [
        '# Throughput benchmark',
        '',
        'The service runs as processes with the roles of `npm start` (single process: API + worker) and `npm run start:api` /',
        `\`start:worker\` (split), ${FROM_SOURCE ? 'each run from its source with tsx (BENCH_FROM_SOURCE=1)' : 'each running the compiled build (`npm run build`, as `npm start` does)'},`,
        '`NODE_ENV=production`, `LOG_LEVEL=warn`, `RATE_LIMIT_POINTS=1000000`, every other setting at its default, on a',
        'database and a Redis key prefix of their own (fresh for each part, as are the processes).',
        'The users run in a separate load-generator process (undici, keep-alive connections) over loopback; every request asks for',
        'one seat with a user id of its own. CPU is read from /proc per process over the measured window.',
        '',
        'Every figure is reported against a baseline measured in the same run, with the same load generator, clients and',
        'connections: the **bare door**, a minimal server in the benchmark (Express 5, `express.json()`, one Redis EVALSHA, a',
        "`409` problem+json), started like the roles. (i) the service's 409s at the door of a sold-out event, (ii) end-to-end",
        'decisions/s with submit + long-poll and (iii) with one `Prefer: wait` request per booking are ratios to its req/s;',
        '(d) the time until every one of a burst of users at once has its final answer is a ratio to the time the bare door takes',
        'to answer the same burst. (a) is against pgbench, (c) is memory. (i), (ii), (iii), (d) and the bare door use closed-loop',
        'clients (each sends its next booking as soon as the last is decided) for a window after a warm-up; (d) one connection per user.',
        '',
        md,
      ].join('\n');
      await mkdir(dirname(o.out), { recursive: true });
      await writeFile(o.out, doc);
      process.stdout.write(`written to ${o.out}\n`);
    }
    if (o.readme) {
      if (await updateReadmeBlock('throughput-summary', summary(f, info))) process.stdout.write('README.md updated\n');
      else process.stdout.write('README.md has no throughput-summary block; not updated\n');
    }
    // A run that lost a request, answered with an error where a decision was due, or oversold.
    const failures = [
      ...(f.a && f.a.decided < f.a.filled ? [`(a) ${f.a.decided} of ${f.a.filled} queued requests decided`] : []),
      ...(f.c && f.c.accepted < f.c.requested ? [`(c) ${f.c.accepted} of ${f.c.requested} submissions accepted`] : []),
      ...(f.bare && f.bare.door.failed + f.bare.burst.failed > 0
        ? [`bare door: ${f.bare.door.failed + f.bare.burst.failed} answers other than 409`]
        : []),
      ...f.doors.filter((d) => d.failed > 0).map((d) => `(i) ${d.who}: ${d.failed} answers other than 409 SOLD_OUT (${d.errors})`),
      ...[...f.polls, ...f.prefers]
        .filter((b) => b.failed > 0)
        .map((b) => `(${b.flow === 'poll' ? 'ii' : 'iii'}) ${b.mode}: ${b.failed} requests without a decision (${b.errors})`),
      ...f.bursts
        .filter((b) => b.failed > 0 || b.problems.length > 0)
        .map(
          (b) =>
            `(d) ${b.who} ${b.flow}: ${b.failed} users without a final answer (${b.errors})${b.problems.length ? `; ${b.problems.join('; ')}` : ''}`,
        ),
      ...violations,
    ];
    if (violations.length === 0) process.stdout.write("audit (npm run verify) of every part's database: clean\n");
    for (const line of failures) process.stdout.write(`FAILED: ${line}\n`);
    return failures.length > 0 || (o.strict && !met) ? 1 : 0;
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
