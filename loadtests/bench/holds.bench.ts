// Flash sale with holds and a waiting list (run on demand, not a test): `npm run bench:holds` at the
// repo root.
//
// One event with 1,000 seats, holds of HOLD seconds and a waiting list long enough for everyone.
// 10,000 users send one request each at the same moment (`"waitlist": true`, `Prefer: wait=30`); a
// user who is waitlisted or pending long-polls until its request changes. Every user who gets a seat
// (a held booking, at once or promoted from the list later) abandons it with probability 30 %, else
// pays after a think time (0 to 40 % of the hold) and confirms it. Abandoned holds expire and go to
// the waiting list, whose promoted users behave the same way, until every seat is confirmed (or the
// list is empty and the rest is back on sale). Reports the time until then, how many holds expired
// and how many promotion rounds it took, and checks that no seat was sold twice: confirmed seats at
// most the capacity, every confirmed checkout a distinct booking of a distinct user, and the
// operators' audit (`npm run verify`) finds nothing.
//
// The users run in a child process, holds/users.main.ts (10,000 sockets each side would pass one
// process's open-file limit); the service (startApi + startWorker, as in `npm start`) runs in this one.
//
//   npm run bench:holds                          the full run (about a minute)
//   npm run bench:holds -- --smoke               100 users for 10 seats
//   npm run bench:holds -- --users 5000 --seats 500 --hold 10 --abandon 0.5 --no-readme
//
// A full default run writes the README's holds-sale block and loadtests/results/holds.md. Exits 1
// when a seat is sold twice, the audit finds a violation, a user got an error, or the sale did not
// settle within --timeout seconds.
import { fork } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { parseEnv, serverEnv } from '@booking/config';
import { auditInvariants, createDb } from '@booking/db';

import type { ClientReport, Plan } from './holds/users.ts';
import { createBenchDatabase } from './lib/database.ts';
import { updateReadmeBlock } from './lib/readme.ts';
import { benchPrefix, deletePrefix } from './lib/redis.ts';
import { runLine } from './lib/run-info.ts';
import { startService } from './lib/service.ts';
import { int, ms, pct, percentile } from './lib/stats.ts';

// ---------------------------------------------------------------------------------------------------
// The sale (this process).

interface SaleState {
  confirmed: number;
  held: number;
  expired: number;
  waitlisted: number;
  available: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      users: { type: 'string' },
      seats: { type: 'string' },
      hold: { type: 'string' },
      abandon: { type: 'string' },
      seed: { type: 'string' },
      timeout: { type: 'string' },
      'no-readme': { type: 'boolean', default: false },
    },
  });
  const users = Number(values.users ?? (values.smoke ? 100 : 10_000));
  const seats = Number(values.seats ?? (values.smoke ? 10 : 1_000));
  const holdSeconds = Number(values.hold ?? 5);
  const abandon = Number(values.abandon ?? 0.3);
  const seed = Number(values.seed ?? 20261202);
  const timeoutMs = 1_000 * Number(values.timeout ?? 300);
  const isDefault =
    !values.smoke && values.users === undefined && values.seats === undefined && values.hold === undefined && values.abandon === undefined;
  if (![users, seats, holdSeconds, abandon, seed, timeoutMs].every(Number.isFinite) || abandon < 0 || abandon >= 1 || holdSeconds < 5) {
    process.stderr.write('--users, --seats, --seed, --timeout: numbers; --hold: at least 5 (seconds); --abandon: from 0 to below 1\n');
    return 2;
  }

  const env = parseEnv(serverEnv, process.env);
  const redis = { url: env.REDIS_URL, cluster: env.REDIS_CLUSTER };
  const prefix = benchPrefix();
  const database = await createBenchDatabase(env.DATABASE_URL);
  const startedAt = new Date();
  const load = os.loadavg()[0]!;
  const stack = await startService({ databaseUrl: database.databaseUrl, redis, prefix, env });
  const { db, pool } = createDb({ url: database.databaseUrl, poolSize: 2, applicationName: 'booking-bench-observer' });
  try {
    const eventId = await stack.createEvent('flash sale with holds', seats, {
      holdSeconds,
      waitlistLimit: Math.min(100_000, Math.max(1, users)),
      maxPerUser: 1,
    });
    process.stdout.write(
      `holds bench: ${int(users)} users for ${int(seats)} seats, holds of ${holdSeconds} s, ${pct(abandon, 1)} abandoned; database ${database.dbName}, prefix ${prefix}\n`,
    );
    const state = async (): Promise<SaleState> => {
      const { rows } = await pool.query<SaleState>(
        `SELECT (SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'confirmed')::int AS confirmed,
                (SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'held')::int AS held,
                (SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'expired')::int AS expired,
                (SELECT count(*) FROM booking_requests WHERE event_id = $1 AND status = 'waitlisted')::int AS waitlisted,
                (SELECT available FROM events WHERE id = $1) AS available`,
        [eventId],
      );
      return rows[0]!;
    };

    const plan: Plan = { baseUrl: stack.baseUrl, eventId, users, abandon, holdSeconds, seed };
    const child = fork(fileURLToPath(new URL('./holds/users.main.ts', import.meta.url)), [JSON.stringify(plan)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const report = new Promise<ClientReport>((resolve, reject) => {
      child.once('message', (m) => resolve(m as ClientReport));
      child.once('exit', (code) => reject(new Error(`the users' process exited with ${code} before reporting`)));
    });
    report.catch(() => {});
    const t0 = performance.now();
    let settledMs: number | undefined;
    let peakHeld = 0;
    let last: SaleState | undefined;
    let lastPrint = 0;
    // Settled: nothing held, and every seat confirmed or (the list being empty) back on sale.
    while (performance.now() - t0 < timeoutMs) {
      await sleep(100);
      last = await state();
      peakHeld = Math.max(peakHeld, last.held);
      if (performance.now() - lastPrint > 2_000) {
        lastPrint = performance.now();
        process.stdout.write(
          `  ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s: ${int(last.confirmed)} confirmed, ${int(last.held)} held, ${int(last.expired)} expired, ${int(last.waitlisted)} waitlisted, ${int(last.available)} available\n`,
        );
      }
      if (
        last.held === 0 &&
        last.confirmed + last.available === seats &&
        (last.confirmed === seats || last.waitlisted === 0) &&
        last.confirmed > 0
      ) {
        settledMs = performance.now() - t0;
        break;
      }
    }
    // The users still on the list wait for a seat that will not come: stop them.
    child.send('stop');
    const { outcomes } = await report;
    const final = await state();
    const violations = await auditInvariants(db);

    const checkedOut = outcomes.filter((o) => o.checkout === 'confirmed');
    const distinctBookings = new Set(checkedOut.map((o) => o.bookingId)).size;
    const errors = outcomes.flatMap((o) => o.errors);
    const promotedSeats = outcomes.filter((o) => o.promoted && o.seatAtMs !== undefined).length;
    const firstSeats = outcomes.filter((o) => !o.promoted && o.seatAtMs !== undefined).length;
    const lateCheckouts = outcomes.filter((o) => o.checkout === 'HOLD_EXPIRED').length;
    const unavailable = outcomes.reduce((n, o) => n + o.unavailable, 0);
    const firstSeatTimes = outcomes
      .filter((o) => !o.promoted)
      .map((o) => o.seatAtMs)
      .filter((v): v is number => v !== undefined);
    // Promotion rounds: each expiry generation hands seats to the list anew; count the distinct hold
    // periods in which promoted users got their seats.
    const rounds = new Set(
      outcomes.filter((o) => o.promoted && o.seatAtMs !== undefined).map((o) => Math.floor(o.seatAtMs! / (holdSeconds * 1000))),
    ).size;
    const soldTwice = final.confirmed > seats || distinctBookings !== checkedOut.length || checkedOut.length !== final.confirmed;
    const problems = [
      ...(settledMs === undefined ? [`not settled within ${timeoutMs / 1000} s`] : []),
      ...(soldTwice
        ? [
            `confirmed ${final.confirmed} of ${seats} seats, ${checkedOut.length} checkouts answered confirmed for ${distinctBookings} distinct bookings`,
          ]
        : []),
      ...violations.map((v) => `audit: ${v.eventId ?? '-'}: ${v.problem}`),
      ...(errors.length ? [`${errors.length} user errors, e.g. ${[...new Set(errors)].slice(0, 3).join('; ')}`] : []),
    ];

    const info = await runLine(
      `npm run bench:holds${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      startedAt,
      load,
    );
    const row = (k: string, v: string) => `| ${k} | ${v} |`;
    const md = [
      '| flash sale with holds | |',
      '|---|---:|',
      row('users / seats / hold', `${int(users)} / ${int(seats)} / ${holdSeconds} s`),
      row('holds abandoned (chosen at random)', pct(abandon, 1)),
      row(
        'seats held at the first answer',
        `${int(firstSeats)}, the last ${ms(percentile(firstSeatTimes, 100))} ms after the start (p50 ${ms(percentile(firstSeatTimes, 50))} ms)`,
      ),
      row('holds expired', int(final.expired)),
      row('seats given to the waiting list', `${int(promotedSeats)}, over ${rounds} hold periods`),
      row('checkouts confirmed / refused (hold expired)', `${int(checkedOut.length)} / ${int(lateCheckouts)}`),
      row(
        '**time until every seat was confirmed or back on sale**',
        settledMs === undefined ? `not within ${timeoutMs / 1000} s` : `**${(settledMs / 1000).toFixed(1)} s**`,
      ),
      row(
        'confirmed at the end / available / still waitlisted',
        `${int(final.confirmed)} / ${int(final.available)} / ${int(final.waitlisted)}`,
      ),
      row('peak seats held at once', int(peakHeld)),
      row('sold twice', soldTwice ? '**yes**' : 'none (confirmed ≤ capacity, one booking per checkout)'),
      row('`npm run verify` audit', violations.length === 0 ? 'clean' : `**${violations.length} violations**`),
      row('503 answers, repeated after Retry-After', int(unavailable)),
      row('user errors (any other failed answer)', int(errors.length)),
    ].join('\n');
    process.stdout.write(`\n${info}\n\n${md}\n\n`);
    for (const p of problems) process.stdout.write(`problem: ${p}\n`);
    // Written also when the sale failed: the problems are part of the figures.
    if (isDefault && !values['no-readme']) {
      const doc = [
        '# Flash sale with holds and a waiting list',
        '',
        `${int(users)} users ask at the same moment for one seat each of ${int(seats)}, joining the waiting list when sold out. Every user who`,
        `gets a seat (a hold of ${holdSeconds} s, at once or promoted from the list) abandons it with probability ${pct(abandon, 1)}, else confirms it`,
        'after a think time of up to 40 % of the hold. The time runs from the first request until nothing is held and every seat',
        'is confirmed (or the list is empty and the rest is back on sale). The service (API and worker) runs in the bench process,',
        "the users in a child process, over loopback HTTP; seats' states are read from PostgreSQL every 100 ms.",
        '',
        info,
        '',
        md,
        '',
        ...problems.map((p) => `- problem: ${p}`),
        '',
      ].join('\n');
      await writeFile(fileURLToPath(new URL('../results/holds.md', import.meta.url)), doc);
      if (
        await updateReadmeBlock(
          'holds-sale',
          `${info}\n\n${md}${problems.length ? `\n\n${problems.map((p) => `- problem: ${p}`).join('\n')}` : ''}`,
        )
      )
        process.stdout.write('README.md updated (holds-sale); written to loadtests/results/holds.md\n');
      else process.stdout.write('README.md has no holds-sale block; written to loadtests/results/holds.md only\n');
    }
    return problems.length === 0 ? 0 : 1;
  } finally {
    await stack.stop().catch(() => {});
    await db.destroy().catch(() => {});
    await Promise.allSettled([database.drop(), deletePrefix(redis, prefix)]);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`holds bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
