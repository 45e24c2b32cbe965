// Part (a) of the throughput bench: one hot event, ample seats; decisions/s through one worker from a
// filled queue, against pgbench's one transaction per booking measured in the same run.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { createRedis, gateKeys } from '@booking/queue';
import { createEventOver } from '@booking/test-support/http';
import type pg from 'pg';

import { type CpuReport, cpuWindow } from '../lib/cpu.ts';
import { withClient } from '../lib/database.ts';
import { freePort, type RoleProcess, startRole } from '../lib/processes.ts';
import { int, ms } from '../lib/stats.ts';
import { type Environment, errorsText, histogramMean, roleEnv, startApi } from './common.ts';
import type { Options } from './options.ts';

const run = promisify(execFile);

export interface PartA {
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
      [
        '-n',
        '-c',
        '1',
        '-j',
        '1',
        '-T',
        String(seconds),
        '-M',
        'prepared',
        '-f',
        script,
        '-h',
        url.hostname,
        '-p',
        url.port || '5432',
        '-U',
        decodeURIComponent(url.username || 'postgres'),
        e.db.dbName,
      ],
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
async function countDecided(client: pg.Client, eventId: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>('SELECT capacity - available AS n FROM events WHERE id = $1', [eventId]);
  return rows[0]!.n;
}

export async function partA(e: Environment, o: Options): Promise<PartA> {
  const pgbenchTps = await pgbench(e, o.pgbenchSeconds);
  process.stdout.write(`(a) pgbench, 1 client, ${o.pgbenchSeconds} s, one booking per transaction: ${pgbenchTps.toFixed(0)} tps\n`);

  const api = await startApi(e);
  let worker: RoleProcess | undefined;
  try {
    const eventId = await createEventOver(api.baseUrl, e.adminKey, 'throughput (a)', 1_000_000);
    const fill = await e.loadgen.run({ kind: 'fill', baseUrl: api.baseUrl, eventId, userPrefix: 'a-', requests: o.fill, connections: 256 });
    const filled = fill.requestIds?.length ?? 0;
    process.stdout.write(
      `(a) queue filled through the API: ${int(filled)} requests accepted in ${ms(fill.wallMs)} ms (${int(filled / (fill.wallMs / 1000))}/s), errors ${errorsText(fill)}\n`,
    );
    const redis = createRedis({ url: e.redisUrl, cluster: false }, 'command', 'booking-bench');
    let jobs = 0;
    try {
      await sleep(500); // the API's journal writes behind the 202s
      jobs = await redis.llen(gateKeys(e.prefix, eventId).wait);
    } finally {
      await redis.quit().catch(() => {});
    }
    process.stdout.write(
      `(a) ${int(jobs)} jobs waiting (${(filled / Math.max(1, jobs)).toFixed(1)} requests per job); starting a worker\n`,
    );

    return await withClient(e.db.databaseUrl, async (client) => {
      const started = performance.now();
      // Watch from the moment it starts: it decides before its metrics port (its readiness) is up.
      const metricsPort = await freePort();
      const metricsUrl = `http://127.0.0.1:${metricsPort}`;
      worker = startRole('worker', roleEnv(e, { METRICS_PORT: String(metricsPort) }));
      const components = {
        pids: { api: api.proc.pid, worker: worker.pid, bench: process.pid, 'load generator (idle)': e.loadgen.pid },
        database: e.db.dbName,
      };
      let first: { at: number; n: number; cpu: ReturnType<typeof cpuWindow> } | undefined;
      let n: number;
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
