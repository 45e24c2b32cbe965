// One run of the strategy bench: one scenario against one strategy, checked against the database.
import type { ServerEnv } from '@booking/config';
import { auditInvariants, createDb } from '@booking/db';
import type { RedisSettings } from '@booking/queue';

import { type BenchDatabase, flushStatistics, transactionsOf, untilDisconnected, withClient } from '../lib/database.ts';
import type { LoadGenerator, LoadResult, Plan } from '../lib/loadgen.ts';
import { benchPrefix, deletePrefix } from '../lib/redis.ts';
import { startService } from '../lib/service.ts';
import { isPipeline, type Scenario, type Strategy } from './options.ts';
import { startStrategyServer } from './server.ts';

export interface Result {
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

export interface Environment {
  db: BenchDatabase;
  redis: RedisSettings;
  prefix: string;
  env: ServerEnv;
  loadgen: LoadGenerator;
  smoke: boolean;
  /** `Prefer: wait=N` of the pipeline-prefer clients (s). */
  preferWaitSeconds: number;
}

/** What the clients of `strategy` add to a plan: `Prefer: wait` for pipeline-prefer. */
export const clientFlow = (e: Environment, strategy: Strategy) =>
  strategy === 'pipeline-prefer' ? { preferWaitSeconds: e.preferWaitSeconds } : {};

export interface Target {
  baseUrl: string;
  decisionStats?: () => Promise<{ transactions: number; decisions: number }>;
  pool: { query(sql: string): Promise<unknown>; totalCount: number };
  createEvent(name: string, capacity: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startTarget(e: Environment, strategy: Strategy): Promise<Target> {
  if (isPipeline(strategy)) {
    // A key prefix of its own: a run that ended with requests still queued (an overloaded sweep
    // point) must not hand them to the next run's worker, whose database no longer has their event.
    const prefix = benchPrefix();
    const stack = await startService({ databaseUrl: e.db.databaseUrl, redis: e.redis, prefix, env: e.env });
    return {
      ...stack,
      async stop() {
        await stack.stop();
        await deletePrefix(e.redis, prefix);
      },
    };
  }
  return startStrategyServer(strategy, { databaseUrl: e.db.databaseUrl, poolSize: e.env.DATABASE_POOL_SIZE });
}

export async function seatsOf(e: Environment, strategy: Strategy, eventId: string): Promise<{ sold: number; available: number }> {
  const sql = isPipeline(strategy)
    ? `SELECT (SELECT coalesce(sum(quantity), 0)::int FROM bookings WHERE event_id = $1 AND status = 'confirmed') AS sold,
                (SELECT available FROM events WHERE id = $1) AS available`
    : `SELECT (SELECT coalesce(sum(quantity), 0)::int FROM bench_bookings WHERE event_id = $1::bigint) AS sold,
                (SELECT available FROM bench_events WHERE id = $1::bigint) AS available`;
  return withClient(e.db.databaseUrl, async (c) => (await c.query<{ sold: number; available: number }>(sql, [eventId])).rows[0]!);
}

/** Removes the pipeline's events of a finished run, so the next worker does not serve them. */
export async function forgetEvents(e: Environment, ids: string[]): Promise<void> {
  await withClient(e.db.databaseUrl, async (c) => {
    await c.query('DELETE FROM bookings WHERE event_id = ANY($1)', [ids]);
    await c.query('DELETE FROM booking_requests WHERE event_id = ANY($1)', [ids]);
    await c.query('DELETE FROM accepted_requests WHERE event_id = ANY($1)', [ids]);
    await c.query('DELETE FROM events WHERE id = ANY($1)', [ids]);
  });
}

/** What `npm run verify` finds in the bench database (every event's invariants). */
async function audit(databaseUrl: string) {
  const { db } = createDb({ url: databaseUrl, poolSize: 1, applicationName: 'booking-bench-audit' });
  try {
    return await auditInvariants(db);
  } finally {
    await db.destroy();
  }
}

export async function runOne(e: Environment, scenario: Scenario, strategy: Strategy): Promise<Result> {
  const target = await startTarget(e, strategy);
  let stopped = false;
  const eventIds: string[] = [];
  try {
    const warmupEventId = await target.createEvent('bench warm-up', 100);
    const eventId = await target.createEvent(`bench ${scenario.id}`, scenario.seats);
    eventIds.push(warmupEventId, eventId);
    const common = {
      baseUrl: target.baseUrl,
      eventId,
      userPrefix: `${strategy}-${scenario.id}-`,
      longPollSeconds: 30,
      warmupEventId,
      ...clientFlow(e, strategy),
    };
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
    // The operators' audit (`npm run verify`) of the pipeline's database, after every run.
    if (isPipeline(strategy))
      for (const v of await audit(e.db.databaseUrl)) problems.push(`audit: event ${v.eventId ?? '-'}: ${v.problem}`);
    const falseSoldOut = sold < scenario.seats ? load.soldOut : 0;
    return { scenario, strategy, load, capacity: scenario.seats, sold, available, transactions, falseSoldOut, problems, perTransaction };
  } finally {
    if (!stopped) await target.stop().catch(() => {});
    if (isPipeline(strategy) && eventIds.length > 0) await forgetEvents(e, eventIds).catch(() => {});
  }
}
