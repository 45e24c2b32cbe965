// npm run bench:scale — many events on sale at once, served by several worker processes.
//
// One API process and WORKERS worker processes (real processes, as deployed) on a bench database.
// EVENTS events each get REQUESTS booking requests; the script prints the aggregate decision rate,
// the Redis connections each worker process holds (counted from the kernel's socket table), the idle
// Redis traffic once everything is decided, and the failover time after a SIGKILL of a worker in
// the middle of a second wave. Loopback only; bounded in count and time.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { Redis } from 'ioredis';
import pg from 'pg';
import { Agent, setGlobalDispatcher } from 'undici';

const smoke = process.argv.includes('--smoke');
const EVENTS = smoke ? 20 : 1000;
const REQUESTS = smoke ? 5 : 10;
const WORKERS = 3;
/** The idle window: one to three of the housekeeping's sweeps of 1,000 events (see below). */
const IDLE_WINDOW_MS = 20_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = process.env.BENCH_PG_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN = 'bench-admin-key-0123456789';
setGlobalDispatcher(new Agent({ connections: 256, pipelining: 1 }));

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  s.close();
  return port;
}

function start(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  return { child, output: () => out };
}

/** Established TCP connections from `pid` to the Redis port (from the kernel, via ss). */
function redisConnections(pid: number): number {
  const port = new URL(REDIS_URL).port || '6379';
  const text = execFileSync('ss', ['-tnp', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  return text.split('\n').filter((line) => line.includes(`pid=${pid},`)).length;
}

async function json(method: string, url: string, body?: unknown): Promise<{ status: number; body: { id?: string } | undefined }> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as { id?: string }) : undefined };
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function main(): Promise<void> {
  const dbName = `booking_bench_scale_${Date.now()}`;
  const admin = new pg.Client({ connectionString: `${SERVER}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const prefix = `bench-scale-${Date.now()}`;
  const env = {
    DATABASE_URL: `${SERVER}/${dbName}`,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ADMIN_API_KEY: ADMIN,
    RATE_LIMIT_POINTS: '1000000',
    RATE_LIMIT_IP_POINTS: '1000000',
    DATABASE_POOL_SIZE: '5',
  };
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const api = start('apps/api/src/main.ts', { ...env, PORT: String(apiPort) });
  const workers: ReturnType<typeof start>[] = [];
  const redis = new Redis(REDIS_URL);
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  try {
    for (
      let i = 0;
      i < 100 &&
      !(await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    )
      await sleep(200);
    for (let i = 0; i < WORKERS; i++) workers.push(start('apps/worker/src/main.ts', { ...env, METRICS_PORT: '0' }));
    await sleep(3_000);
    await db.connect();

    const events: string[] = [];
    await pool(
      Array.from({ length: EVENTS }, (_, i) => i),
      32,
      async (i) => {
        const r = await json('POST', `${base}/v1/events`, { name: `scale ${i}`, capacity: 1_000_000 });
        if (r.status !== 201) throw new Error(`create event: ${r.status}`);
        events.push(r.body?.id ?? '');
      },
    );

    // Wave 1: every event gets REQUESTS requests; measure until all are decided.
    const submitAll = async (tag: string) => {
      const jobs = events.flatMap((e) => Array.from({ length: REQUESTS }, (_, k) => ({ e, k })));
      await pool(jobs, 200, async ({ e, k }) => {
        const r = await json('POST', `${base}/v1/events/${e}/bookings`, { userId: `${tag}-${k}`, quantity: 1 });
        if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
      });
      return jobs.length;
    };
    const decidedCount = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM booking_requests')).rows[0]!.n);
    const t0 = performance.now();
    const total1 = await submitAll('w1');
    const submitS = (performance.now() - t0) / 1000;
    let peak: number[] = workers.map(() => 0);
    while ((await decidedCount()) < total1) {
      peak = workers.map((w, i) => Math.max(peak[i]!, redisConnections(w.child.pid!)));
      if (performance.now() - t0 > 300_000) throw new Error('wave 1 not decided within 300 s');
      await sleep(250);
    }
    const wave1S = (performance.now() - t0) / 1000;

    // Idle traffic: commands Redis processes per second once all is decided and workers let go. The
    // workers' housekeeping (a round every HOUSEKEEPING_INTERVAL_MS, 5 s by default, by whichever
    // worker takes the janitor key) sweeps the events on sale for orphaned gate records, up to 1,000
    // per round with one script each (Redis counts every command inside a script); each worker pages
    // through the events with a cursor of its own, so a round is a full sweep or an empty one. A 10-s
    // window held one sweep or none (355 or 55 commands/s); 20 s hold one to three (about 200, 350
    // or 500/s).
    await sleep(4_000);
    const cmds = async () => Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))![1]);
    const c0 = await cmds();
    await sleep(IDLE_WINDOW_MS);
    const idlePerSecond = ((await cmds()) - c0) / (IDLE_WINDOW_MS / 1000);
    const idleConnections = workers.map((w) => redisConnections(w.child.pid!));
    // Every figure above assumes all the workers ran: one that exited would leave its events to the
    // others and count 0 connections.
    for (const [i, w] of workers.entries()) {
      if (w.child.exitCode !== null || w.child.signalCode !== null) {
        throw new Error(
          `worker ${i + 1} (pid ${w.child.pid}) exited (${w.child.exitCode ?? w.child.signalCode}) before the failover wave; its output:\n${w.output()}`,
        );
      }
    }

    // Wave 2 on one hot event: SIGKILL the worker serving it mid-wave; failover = the longest pause
    // between two consecutive decisions of that event.
    const hot = events[0]!;
    const hotRequests = smoke ? 200 : 3000;
    const wave2 = pool(
      Array.from({ length: hotRequests }, (_, k) => k),
      100,
      async (k) => {
        await json('POST', `${base}/v1/events/${hot}/bookings`, { userId: `hot-${k}`, quantity: 1 });
      },
    );
    await sleep(smoke ? 300 : 1_000);
    const holder = (await redis.get(`${prefix}:{${hot}}:lease`))?.split('|')[0] ?? '';
    const victim = workers.find((w) => holder.includes(`-${w.child.pid}-`)) ?? workers[0]!;
    const killedAt = new Date();
    victim.child.kill('SIGKILL');
    await wave2;
    const hotTotal = REQUESTS + hotRequests;
    const started = performance.now();
    while (
      Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM booking_requests WHERE event_id = $1', [hot])).rows[0]!.n) < hotTotal
    ) {
      if (performance.now() - started > 120_000) throw new Error('wave 2 not decided within 120 s');
      await sleep(200);
    }
    const gaps = await db.query<{ gap: string | null }>(
      `SELECT max(gap) AS gap FROM (SELECT extract(epoch FROM decided_at - lag(decided_at) OVER (ORDER BY decided_at)) AS gap
         FROM booking_requests WHERE event_id = $1 AND decided_at > $2::timestamptz - interval '5 seconds') g`,
      [hot, killedAt.toISOString()],
    );
    const failoverS = Number(gaps.rows[0]!.gap);
    const oversold = Number(
      (await db.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE available < 0 OR available > capacity')).rows[0]!.n,
    );

    const table = [
      `| figure | value |`,
      `|---|---|`,
      `| events on sale, worker processes | ${EVENTS}, ${WORKERS} |`,
      `| requests decided in wave 1 | ${total1} in ${wave1S.toFixed(2)} s |`,
      `| submissions accepted in wave 1 (one API process, 200 client connections) | ${total1} in ${submitS.toFixed(2)} s |`,
      `| aggregate decision rate (wave 1, from first submission to last decision) | ${(total1 / wave1S).toFixed(0)} decisions/s |`,
      `| Redis connections per worker process, peak during wave 1 | ${peak.join(', ')} |`,
      `| Redis connections per worker process, idle | ${idleConnections.join(', ')} |`,
      `| Redis commands per second while idle (all processes, over ${IDLE_WINDOW_MS / 1000} s, with the housekeeping's sweeps) | ${idlePerSecond.toFixed(1)} |`,
      `| failover after SIGKILL of the hot event's worker (longest pause between decisions) | ${failoverS.toFixed(2)} s |`,
      `| events with available outside 0..capacity | ${oversold} |`,
    ].join('\n');
    console.log(table);
    if (!smoke) writeFileSync(new URL('../results/scale.md', import.meta.url), `${table}\n`);
    if (oversold > 0) process.exitCode = 1;
  } finally {
    for (const p of [api, ...workers]) p.child.kill('SIGKILL');
    redis.disconnect();
    await db.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => {});
    await admin.end();
    const r = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.unlink(...keys);
    } while (cursor !== '0');
    r.disconnect();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
