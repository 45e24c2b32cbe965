#!/usr/bin/env node
// Runs one Artillery scenario of loadtests/artillery/ against a running booking service and checks
// the invariants through the API afterwards.
//
//   npm run loadtest -- <scenario> [--smoke] [--jwt] [--no-verify]
//   (scenarios: flash-sale, predecessor, soak, many-events, holds-sale)
//
// At the end it runs the operators' audit (`npm run verify`, with this environment's DATABASE_URL:
// the service's database) unless --no-verify, and fails when it finds a violation.
//
// Environment: TARGET (default http://127.0.0.1:3000), ADMIN_API_KEY (required: events are created
// through the admin API), SMOKE=1 (same as --smoke), ARTILLERY_VERSION (default below),
// ARTILLERY_BIN (an installed artillery executable to use instead of npx), FOLLOW_UP_SECONDS (how long
// to keep long-polling requests the virtual users gave up on, default 120), LOADTEST_JWT=1 (same as
// --jwt: every virtual user sends an HS256 bearer token for its user id, signed with AUTH_JWT_SECRET or,
// without it, the development secret, for a service started with AUTH_MODE=jwt).
//
// Artillery is not a dependency of the project (about 600 MB): it is fetched by npx on first use and
// cached in the npm cache (~/.npm/_npx). Exit status: 0 when every invariant holds, 1 when one fails,
// 2 when the run could not be made (bad arguments, service down, Artillery failed).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * The events each scenario books against; arrivals and flow are in artillery/<name>.yml, whose
 * environments `full` and `smoke` match the two sizes here.
 */
const SCENARIOS = {
  'flash-sale': { full: { events: 1, capacity: 1000 }, smoke: { events: 1, capacity: 20 } },
  predecessor: { full: { events: 1, capacity: 10 }, smoke: { events: 1, capacity: 5 } },
  soak: { full: { events: 1, capacity: 20000 }, smoke: { events: 1, capacity: 1000 } },
  'many-events': { full: { events: 50, capacity: 100 }, smoke: { events: 5, capacity: 10 } },
  // Sales end `salesSeconds` after the event is created: the users still on the waiting list then
  // are rejected SALES_CLOSED, as in a real sale, instead of waiting for a seat that will not come.
  'holds-sale': {
    full: { events: 1, capacity: 1000, holdSeconds: 10, waitlistLimit: 10000, salesSeconds: 90 },
    smoke: { events: 1, capacity: 20, holdSeconds: 5, waitlistLimit: 200, salesSeconds: 25 },
  },
};

/** 2.0.21 is the last Artillery that runs on Node 20 (2.0.22+ need Node 22); it runs on 22 and 24 too. */
const DEFAULT_ARTILLERY_VERSION = '2.0.21';

/** What `npm run token` and AUTH_MODE=jwt use without AUTH_JWT_SECRET (packages/config, DEV_JWT_SECRET). */
const DEV_JWT_SECRET = 'booking-service-development-secret-do-not-deploy';

/** The service's DATABASE_URL default (packages/config): where the holds sale and the audit look without one. */
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/booking';

const USAGE = `usage: npm run loadtest -- <scenario> [--smoke] [--jwt] [--seats N] [--events N] [--keep] [--no-verify]

scenarios: ${Object.keys(SCENARIOS).join(', ')}
  --smoke      tiny numbers, a few seconds (also SMOKE=1)
  --seats N    seats per event instead of the scenario's
  --events N   number of events instead of the scenario's
  --keep       keep the Artillery report and outcome files (their directory is printed)
  --jwt        send a bearer token per virtual user (AUTH_MODE=jwt; also LOADTEST_JWT=1)
  --no-verify  skip the audit of the service's database at the end (npm run verify, DATABASE_URL)

environment: TARGET (default http://127.0.0.1:3000), ADMIN_API_KEY (required), AUTH_JWT_SECRET (with --jwt),
  ARTILLERY_VERSION (default ${DEFAULT_ARTILLERY_VERSION}), ARTILLERY_BIN, FOLLOW_UP_SECONDS (default 120)`;

class UsageError extends Error {}
/** The run cannot be made (service down, wrong admin key): reported without the usage text. */
class SetupError extends Error {}

function parseCommandLine() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      smoke: { type: 'boolean', default: false },
      seats: { type: 'string' },
      events: { type: 'string' },
      keep: { type: 'boolean', default: false },
      jwt: { type: 'boolean', default: false },
      'no-verify': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1 || !Object.hasOwn(SCENARIOS, positionals[0])) {
    throw new UsageError(positionals.length === 1 ? `unknown scenario "${positionals[0]}"` : 'name one scenario');
  }
  const smoke = values.smoke || ['1', 'true', 'yes'].includes((process.env.SMOKE ?? '').toLowerCase());
  const name = positionals[0];
  const size = { ...SCENARIOS[name][smoke ? 'smoke' : 'full'] };
  for (const [key, max] of [
    ['seats', 1_000_000],
    ['events', 1000],
  ]) {
    if (values[key] === undefined) continue;
    const n = Number(values[key]);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${key} must be an integer 1..${max}`);
    size[key === 'seats' ? 'capacity' : 'events'] = n;
  }
  const target = (process.env.TARGET || 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const adminKey = process.env.ADMIN_API_KEY;
  if (!adminKey) throw new UsageError('ADMIN_API_KEY is not set (the key the service was started with, or the one it printed)');
  const followUp = Number(process.env.FOLLOW_UP_SECONDS ?? 120);
  if (!(followUp >= 0)) throw new UsageError('FOLLOW_UP_SECONDS must be a number >= 0');
  const jwt = values.jwt || ['1', 'true', 'yes'].includes((process.env.LOADTEST_JWT ?? '').toLowerCase());
  const jwtSecret = jwt ? (process.env.AUTH_JWT_SECRET ?? DEV_JWT_SECRET) : undefined;
  return { name, smoke, size, target, adminKey, jwtSecret, keep: values.keep, followUpMs: followUp * 1000, verify: !values['no-verify'] };
}

// ---------------------------------------------------------------------------------------------
// The service's API

async function api(target, method, path, { json, adminKey } = {}) {
  const headers = {};
  if (json !== undefined) headers['content-type'] = 'application/json';
  if (adminKey) headers.authorization = `Bearer ${adminKey}`;
  const res = await fetch(`${target}${path}`, {
    method,
    headers,
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    signal: AbortSignal.timeout(40_000),
  });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

async function createEvents(run, runId) {
  const ready = await api(run.target, 'GET', '/readyz').catch((err) => ({ status: 0, body: err.cause?.code ?? err.message }));
  if (ready.status !== 200) throw new SetupError(`${run.target}/readyz answered ${ready.status || ready.body}: is the service running?`);
  const events = [];
  for (let i = 0; i < run.size.events; i++) {
    const res = await api(run.target, 'POST', '/v1/events', {
      adminKey: run.adminKey,
      json: {
        name: `loadtest ${run.name} ${runId} #${i + 1}`,
        capacity: run.size.capacity,
        ...(run.size.holdSeconds
          ? {
              holdSeconds: run.size.holdSeconds,
              waitlistLimit: run.size.waitlistLimit,
              maxPerUser: 1,
              salesEndAt: new Date(Date.now() + run.size.salesSeconds * 1000).toISOString(),
            }
          : {}),
      },
    });
    if (res.status === 401) throw new SetupError("POST /v1/events answered 401: ADMIN_API_KEY is not the service's admin key");
    if (res.status !== 201) throw new Error(`POST /v1/events answered ${res.status}: ${JSON.stringify(res.body)}`);
    events.push(res.body);
  }
  return events;
}

// ---------------------------------------------------------------------------------------------
// Artillery

function artilleryCommand() {
  if (process.env.ARTILLERY_BIN) return { command: process.env.ARTILLERY_BIN, args: [] };
  const version = process.env.ARTILLERY_VERSION || DEFAULT_ARTILLERY_VERSION;
  return { command: process.platform === 'win32' ? 'npx.cmd' : 'npx', args: ['--yes', `artillery@${version}`], version };
}

async function runArtillery(run, events, runId, workDir) {
  const { command, args, version } = artilleryCommand();
  const reportPath = join(workDir, 'report.json');
  const fullArgs = [
    ...args,
    'run',
    '--target',
    run.target,
    '--environment',
    run.smoke ? 'smoke' : 'full',
    '--output',
    reportPath,
    join(HERE, 'artillery', `${run.name}.yml`),
  ];
  if (version) console.log(`[loadtest] running artillery@${version} through npx (the first run downloads it, about 600 MB)`);
  const started = Date.now();
  const child = spawn(command, fullArgs, {
    cwd: workDir,
    stdio: 'inherit',
    shell: process.platform === 'win32',
    env: {
      ...process.env,
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1',
      ARTILLERY_DISABLE_TELEMETRY: 'true',
      NODE_OPTIONS: [process.env.NODE_OPTIONS, `--require ${JSON.stringify(join(HERE, 'artillery', 'no-telemetry.cjs'))}`]
        .filter(Boolean)
        .join(' '),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      LOADTEST_EVENTS: JSON.stringify(events.map((e) => e.id)),
      LOADTEST_OUT_DIR: workDir,
      LOADTEST_RUN_ID: runId,
      ...(run.jwtSecret ? { LOADTEST_JWT_SECRET: run.jwtSecret } : {}),
    },
  });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  let report = null;
  try {
    report = JSON.parse(readFileSync(reportPath, 'utf8'));
  } catch {
    // no report: Artillery failed before the end of the run
  }
  return { code, report, seconds: (Date.now() - started) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Outcomes and invariants

function readOutcomes(workDir) {
  const lines = [];
  for (const file of readdirSync(workDir)) {
    if (!file.startsWith('outcomes-')) continue;
    for (const line of readFileSync(join(workDir, file), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        lines.push(JSON.parse(line));
      } catch {
        // a line cut short by an interrupted run
      }
    }
  }
  return lines;
}

/** Long-polls every request in `ids` until it is decided or `budgetMs` is spent; returns the decisions. */
async function followUp(target, ids, budgetMs, adminKey) {
  const deadline = Date.now() + budgetMs;
  const decisions = new Map();
  const queue = [...ids];
  async function worker() {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      for (;;) {
        const left = Math.floor((deadline - Date.now()) / 1000);
        const res = await api(target, 'GET', `/v1/booking-requests/${encodeURIComponent(id)}?wait=${Math.max(0, Math.min(10, left))}`, {
          adminKey,
        }).catch(() => null);
        if (res?.status === 200 && res.body.status !== 'pending') {
          decisions.set(id, res.body);
          break;
        }
        if (res?.status === 404 || Date.now() >= deadline) break;
        if (!res || res.status !== 200) await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(50, queue.length) }, worker));
  return decisions;
}

function newTally() {
  return {
    submitted: 0,
    accepted: 0,
    soldOutAtOnce: 0,
    refused: {}, // other final answers to the submission, by code
    unanswered: 0, // submissions without any HTTP answer (timeout, reset): outcome unknown
    unansweredSeats: 0,
    confirmed: 0,
    confirmedSeats: 0,
    rejected: {}, // by reason
    pending: 0,
    pendingSeats: 0,
    bookingIds: new Set(),
    soldOutQuantities: [], // quantity of every SOLD_OUT answer, at once or decided
  };
}

function analyse(events, outcomes, extraDecisions) {
  const byEvent = new Map(events.map((e) => [e.id, newTally()]));
  const total = newTally();
  const submits = new Map(); // requestId -> submission
  const decisions = new Map();
  for (const o of outcomes) {
    if (o.t === 'submit' && o.requestId) submits.set(o.requestId, o);
    if (o.t === 'decided') decisions.set(o.requestId, o);
  }
  for (const [id, d] of extraDecisions) decisions.set(id, d);
  const bump = (map, key) => (map[key] = (map[key] ?? 0) + 1);
  const serverErrors = {};
  for (const o of outcomes) {
    const tallies = [byEvent.get(o.eventId), total].filter(Boolean);
    if (o.t === 'submit') {
      for (const t of tallies) {
        t.submitted += 1;
        if (o.status === 202) t.accepted += 1;
        else if (o.status === 409 && o.code === 'SOLD_OUT') {
          t.soldOutAtOnce += 1;
          t.soldOutQuantities.push(o.quantity);
        } else bump(t.refused, `${o.status} ${o.code}`);
      }
      if (o.status >= 500 && o.status !== 503) bump(serverErrors, `${o.status} ${o.code}`);
    } else if (o.t === 'error' && o.stage === 'submit') {
      for (const t of tallies) {
        t.submitted += 1;
        t.unanswered += 1;
        t.unansweredSeats += o.quantity;
      }
    } else if (o.t === 'poll_failed' && o.status >= 500 && o.status !== 503) {
      bump(serverErrors, `${o.status} ${o.code}`);
    }
  }
  for (const [requestId, s] of submits) {
    const d = decisions.get(requestId);
    const tallies = [byEvent.get(s.eventId), total].filter(Boolean);
    for (const t of tallies) {
      if (!d) {
        t.pending += 1;
        t.pendingSeats += s.quantity;
      } else if (d.status === 'confirmed') {
        t.confirmed += 1;
        t.confirmedSeats += d.quantity;
        if (d.bookingId) t.bookingIds.add(d.bookingId);
      } else {
        bump(t.rejected, d.reason ?? 'UNKNOWN');
        if (d.reason === 'SOLD_OUT') t.soldOutQuantities.push(d.quantity);
      }
    }
  }
  return { byEvent, total, serverErrors };
}

async function checkEvents(run, analysis) {
  const failures = [];
  const seats = { capacity: 0, available: 0, oversold: 0 };
  for (const [eventId, t] of analysis.byEvent) {
    const res = await api(run.target, 'GET', `/v1/events/${encodeURIComponent(eventId)}`);
    if (res.status !== 200) {
      failures.push(`event ${eventId}: GET answered ${res.status}`);
      continue;
    }
    const { capacity, available } = res.body;
    seats.capacity += capacity;
    seats.available += available;
    const oversold = Math.max(0, t.confirmedSeats - capacity, -available);
    seats.oversold += oversold;
    const where = `event ${eventId}`;
    if (oversold > 0)
      failures.push(
        `${where}: oversold by ${oversold} seats (capacity ${capacity}, confirmed ${t.confirmedSeats}, available ${available})`,
      );
    if (available < 0 || available > capacity) failures.push(`${where}: available ${available} outside 0..${capacity}`);
    // Clients saw every confirmation unless some submissions went unanswered or stayed pending:
    // then available may be lower than capacity - confirmed by at most those seats, never higher.
    const expected = capacity - t.confirmedSeats;
    const slack = t.unansweredSeats + t.pendingSeats;
    if (available > expected || available < expected - slack) {
      failures.push(
        `${where}: available ${available} but capacity ${capacity} - confirmed ${t.confirmedSeats} = ${expected}` +
          (slack ? ` (up to ${slack} seats of unanswered or pending requests may also be taken)` : ''),
      );
    }
    if (t.bookingIds.size !== t.confirmed)
      failures.push(`${where}: ${t.confirmed} confirmations but ${t.bookingIds.size} distinct booking ids`);
    const falseSoldOut = t.soldOutQuantities.filter((q) => q <= available).length;
    if (falseSoldOut > 0) failures.push(`${where}: ${falseSoldOut} SOLD_OUT answers although ${available} seats are still available`);
    if (t.pending > 0) failures.push(`${where}: ${t.pending} accepted requests still pending`);
  }
  for (const [status, n] of Object.entries(analysis.serverErrors)) failures.push(`${n} answers ${status} (server error)`);
  return { failures, seats };
}

// ---------------------------------------------------------------------------------------------
// Holds sale: checkouts, and the time until every seat is confirmed or back on sale

/** Per event: seats whose checkout was answered confirmed (and by which booking), and the other answers. */
function analyseCheckouts(events, outcomes) {
  const byEvent = new Map(events.map((e) => [e.id, { confirmedSeats: 0, bookings: [], refused: {}, abandoned: 0, promoted: 0, holds: 0 }]));
  const serverErrors = {};
  const bump = (map, key) => (map[key] = (map[key] ?? 0) + 1);
  for (const o of outcomes) {
    const t = byEvent.get(o.eventId);
    if (o.t === 'decided' && o.status === 'confirmed' && t) {
      t.holds += 1;
      if (o.promoted) t.promoted += 1;
    }
    if (o.t === 'abandoned' && t) t.abandoned += 1;
    if (o.t !== 'checkout' || !t) continue;
    if (o.status === 200 && o.outcome === 'confirmed') {
      t.confirmedSeats += o.quantity;
      t.bookings.push(o.bookingId);
      t.lastCheckoutAt = Math.max(t.lastCheckoutAt ?? 0, o.at);
    } else bump(t.refused, o.outcome);
    if (o.status >= 500 && o.status !== 503) bump(serverErrors, `${o.status} ${o.outcome}`);
  }
  const confirmedSeats = () => [...byEvent.values()].reduce((n, t) => n + t.confirmedSeats, 0);
  return { byEvent, serverErrors, confirmedSeats };
}

/**
 * Waits until no seat of the events is held any more (every seat confirmed, or the waiting list is
 * empty and the rest is back on sale), at most `budgetMs`, reading the service's database
 * (DATABASE_URL): a checkout whose answer a virtual user never saw (a timeout, a 503 after which it
 * was applied all the same) still counts there. Returns when that was (ms since `startedAt`,
 * undefined if not within the budget), the seats confirmed per event, and the failures found.
 */
async function settleHolds(run, checkouts, startedAt, budgetMs) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL || DEFAULT_DATABASE_URL });
  await client.connect();
  const ids = [...checkouts.byEvent.keys()];
  const state = async () =>
    (
      await client.query(
        `SELECT coalesce(sum(quantity) FILTER (WHERE status = 'held'), 0)::int AS held,
                coalesce(sum(quantity) FILTER (WHERE status = 'confirmed'), 0)::int AS confirmed
           FROM bookings WHERE event_id = ANY ($1)`,
        [ids],
      )
    ).rows[0];
  try {
    const deadline = Date.now() + budgetMs;
    let settledMs;
    let now = await state();
    for (;;) {
      if (now.held === 0) {
        settledMs = Date.now() - startedAt;
        break;
      }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
      now = await state();
    }
    const failures = [];
    for (const [eventId, t] of checkouts.byEvent) {
      const res = await api(run.target, 'GET', `/v1/events/${encodeURIComponent(eventId)}`);
      const where = `event ${eventId}`;
      if (t.confirmedSeats > res.body.capacity)
        failures.push(`${where}: ${t.confirmedSeats} seats checked out, capacity ${res.body.capacity}`);
      if (new Set(t.bookings).size !== t.bookings.length) failures.push(`${where}: a booking was checked out twice`);
      if (res.body.available < 0 || res.body.available > res.body.capacity - t.confirmedSeats) {
        failures.push(`${where}: available ${res.body.available}, capacity ${res.body.capacity}, ${t.confirmedSeats} seats checked out`);
      }
    }
    if (now.confirmed < checkouts.confirmedSeats())
      failures.push(`${now.confirmed} seats confirmed in the database, ${checkouts.confirmedSeats()} checkouts answered confirmed`);
    if (settledMs === undefined)
      failures.push(`${now.held} seats still held ${Math.round(budgetMs / 1000)} s after the virtual users finished`);
    for (const [status, n] of Object.entries(checkouts.serverErrors)) failures.push(`${n} checkouts answered ${status} (server error)`);
    return { settledMs, confirmed: now.confirmed, failures };
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// The operators' audit

/** Runs `npm run verify` (the audit of the service's database); its lines and whether it passed. */
async function verifyDatabase() {
  const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'verify'], {
    cwd: join(HERE, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: process.platform === 'win32',
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  return {
    ok: code === 0,
    lines: out
      .trim()
      .split('\n')
      .filter((l) => l && !l.startsWith('>')),
  };
}

// ---------------------------------------------------------------------------------------------
// Summary

function percentiles(report, metric) {
  const s = report?.aggregate?.summaries?.[metric];
  if (!s || !s.count) return 'n/a';
  const ms = (v) => `${Math.round(v)} ms`;
  return `p50 ${ms(s.p50 ?? s.median)}, p99 ${ms(s.p99)}, max ${ms(s.max)} (${s.count})`;
}

function codes(map) {
  const entries = Object.entries(map);
  return entries.length ? entries.map(([k, n]) => `${n} ${k}`).join(', ') : '0';
}

function printSummary(run, events, artillery, analysis, followedUp, check) {
  const t = analysis.total;
  const counters = artillery.report?.aggregate?.counters ?? {};
  const c = (name) => counters[name] ?? 0;
  const rejected = Object.values(t.rejected).reduce((a, b) => a + b, 0);
  const byPrefix = (prefix) =>
    Object.entries(counters)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, n]) => `${k.slice(prefix.length)}: ${n}`)
      .join(', ');
  const httpCodes = byPrefix('http.codes.');
  const errors = byPrefix('errors.');
  const rows = [
    ['scenario', `${run.name} (${run.smoke ? 'smoke' : 'full'}) against ${run.target}`],
    ['events', `${events.length} x ${run.size.capacity} seats`],
    ['artillery', `exit ${artillery.code} after ${artillery.seconds.toFixed(1)} s`],
    ['virtual users', `${c('vusers.created')} created, ${c('vusers.completed')} completed, ${c('vusers.failed')} failed`],
    ['HTTP requests', `${c('http.requests')} (${httpCodes || 'no answers'}${errors ? `; ${errors}` : ''})`],
    [
      'submissions',
      `${t.submitted}: ${t.accepted} accepted (202), ${t.soldOutAtOnce} SOLD_OUT at once (409), other ${codes(t.refused)}, ${t.unanswered} unanswered`,
    ],
    ['decisions', `${t.confirmed} confirmed (${t.confirmedSeats} seats), ${rejected} rejected${rejected ? ` (${codes(t.rejected)})` : ''}`],
    ['followed up', `${followedUp} decisions long-polled by the runner after the virtual users gave up or failed`],
    ['pending left', `${t.pending}`],
    ['seats', `capacity ${check.seats.capacity}, confirmed ${t.confirmedSeats}, available ${check.seats.available}`],
    ['oversold seats', `${check.seats.oversold}`],
    ['submit latency', percentiles(artillery.report, 'plugins.metrics-by-endpoint.response_time.submit')],
    ['time to decision', percentiles(artillery.report, 'booking.decision_ms')],
    ['all HTTP (long-polls too)', percentiles(artillery.report, 'http.response_time')],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('\n==================== loadtest summary ====================');
  for (const [k, v] of rows) console.log(`${`${k}:`.padEnd(width + 2)}${v}`);
  if (check.failures.length === 0) {
    console.log(
      `${'result:'.padEnd(width + 2)}PASS (no oversell, available = capacity - confirmed, all decided, no false SOLD_OUT, no duplicate bookings)`,
    );
  } else {
    console.log(`${'result:'.padEnd(width + 2)}FAIL`);
    for (const f of check.failures.slice(0, 20)) console.log(`  - ${f}`);
    if (check.failures.length > 20) console.log(`  ... and ${check.failures.length - 20} more`);
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const run = parseCommandLine();
  const runId = `lt${Date.now().toString(36)}`;
  const events = await createEvents(run, runId);
  console.log(
    `[loadtest] ${run.name}${run.smoke ? ' (smoke)' : ''}: created ${events.length} event(s) of ${run.size.capacity} seats on ${run.target}`,
  );
  const workDir = mkdtempSync(join(tmpdir(), `booking-loadtest-${run.name}-`));
  const startedAt = Date.now();
  try {
    const artillery = await runArtillery(run, events, runId, workDir);
    if (!artillery.report) {
      console.error(`[loadtest] artillery exited with ${artillery.code} without a report`);
      return 2;
    }
    const outcomes = readOutcomes(workDir);
    if (run.size.holdSeconds) return await finishHoldsSale(run, events, artillery, outcomes, startedAt);
    const known = new Set(outcomes.filter((o) => o.t === 'decided').map((o) => o.requestId));
    const open = outcomes.filter((o) => o.t === 'submit' && o.requestId && !known.has(o.requestId)).map((o) => o.requestId);
    if (open.length > 0) console.log(`[loadtest] following up ${open.length} accepted requests the virtual users saw no decision for`);
    const extra = open.length > 0 ? await followUp(run.target, open, run.followUpMs, run.adminKey) : new Map();
    const analysis = analyse(events, outcomes, extra);
    const check = await checkEvents(run, analysis);
    if (run.verify) check.failures.push(...(await audit()));
    printSummary(run, events, artillery, analysis, extra.size, check);
    if (run.keep) console.log(`[loadtest] report and outcomes kept in ${workDir}`);
    if (check.failures.length > 0) return 1;
    if (artillery.code !== 0) {
      console.error(`[loadtest] artillery exited with ${artillery.code}`);
      return 2;
    }
    return 0;
  } finally {
    if (!run.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

/** The audit's verdict as failures (none: clean), its lines printed. */
async function audit() {
  console.log("[loadtest] auditing the service's database (npm run verify)");
  const verdict = await verifyDatabase();
  for (const line of verdict.lines) console.log(`  ${line}`);
  return verdict.ok ? [] : ['the audit (npm run verify) failed: see its lines above'];
}

/** The end of a holds sale: waits until no seat is held, checks the checkouts, prints the summary. */
async function finishHoldsSale(run, events, artillery, outcomes, startedAt) {
  const checkouts = analyseCheckouts(events, outcomes);
  console.log('[loadtest] waiting until every seat is confirmed or back on sale');
  const { settledMs, confirmed, failures } = await settleHolds(run, checkouts, startedAt, Math.max(run.followUpMs, 30_000));
  if (run.verify) failures.push(...(await audit()));
  const sum = (f) => [...checkouts.byEvent.values()].reduce((n, t) => n + f(t), 0);
  const refused = {};
  for (const t of checkouts.byEvent.values()) for (const [k, n] of Object.entries(t.refused)) refused[k] = (refused[k] ?? 0) + n;
  const counters = artillery.report?.aggregate?.counters ?? {};
  const rows = [
    ['scenario', `${run.name} (${run.smoke ? 'smoke' : 'full'}) against ${run.target}`],
    [
      'events',
      `${events.length} x ${run.size.capacity} seats, holds of ${run.size.holdSeconds} s, waiting list of ${run.size.waitlistLimit}, sales end after ${run.size.salesSeconds} s`,
    ],
    ['artillery', `exit ${artillery.code} after ${artillery.seconds.toFixed(1)} s`],
    ['virtual users', `${counters['vusers.created'] ?? 0} created, ${counters['vusers.failed'] ?? 0} failed`],
    ['holds granted', `${sum((t) => t.holds)} (${sum((t) => t.promoted)} from the waiting list), ${sum((t) => t.abandoned)} abandoned`],
    [
      'checkouts',
      `${sum((t) => t.bookings.length)} answered confirmed, refused: ${codes(refused)}; ${confirmed} seats confirmed in the database`,
    ],
    // Every seat confirmed: when the last checkout was answered; else when nothing was held any more
    // (checked only once the virtual users had finished, so an upper bound).
    [
      'time until every seat was confirmed or back on sale',
      [...checkouts.byEvent.values()].every((t) => t.confirmedSeats === run.size.capacity) && settledMs !== undefined
        ? `${((Math.max(...[...checkouts.byEvent.values()].map((t) => t.lastCheckoutAt)) - startedAt) / 1000).toFixed(1)} s from the start (every seat confirmed)`
        : settledMs === undefined
          ? 'not settled'
          : `at most ${(settledMs / 1000).toFixed(1)} s from the start (seen once the virtual users had finished)`,
    ],
    ['submit latency', percentiles(artillery.report, 'plugins.metrics-by-endpoint.response_time.submit')],
    ['checkout latency', percentiles(artillery.report, 'plugins.metrics-by-endpoint.response_time.checkout')],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('\n==================== loadtest summary ====================');
  for (const [k, v] of rows) console.log(`${`${k}:`.padEnd(width + 2)}${v}`);
  if (failures.length === 0)
    console.log(`${'result:'.padEnd(width + 2)}PASS (no seat sold twice, checkouts within capacity, nothing left held, audit clean)`);
  else {
    console.log(`${'result:'.padEnd(width + 2)}FAIL`);
    for (const f of failures.slice(0, 20)) console.log(`  - ${f}`);
  }
  if (failures.length > 0) return 1;
  return artillery.code === 0 ? 0 : 2;
}

export { analyse, followUp, readOutcomes };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      if (err instanceof UsageError) console.error(`[loadtest] ${err.message}\n\n${USAGE}`);
      else if (err instanceof SetupError) console.error(`[loadtest] ${err.message}`);
      else console.error('[loadtest]', err);
      process.exit(2);
    },
  );
}
