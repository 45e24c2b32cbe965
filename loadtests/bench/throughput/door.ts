// The throughput bench's baseline and its door parts:
//   the bare door (bare-door.main.ts): req/s of its 409s under the same closed-loop clients as the
//   service's door, and the time it takes to answer a burst of users at once;
//   (i) the service's door: req/s of its 409s for a sold-out event (the admission gate answering);
//   (d) the service's burst: users at once for a few seats, the time until every one of them has its
//   final answer (409 at the door, or decided), with each client flow.
import { createEventOver } from '@booking/test-support/http';

import { type CpuReport, cpuWindow } from '../lib/cpu.ts';
import { withClient } from '../lib/database.ts';
import type { LoadResult } from '../lib/loadgen.ts';
import { percentile } from '../lib/stats.ts';
import { type Environment, errorsText, type Mode, probe, startBare, startService } from './common.ts';
import type { Flow } from './e2e.ts';
import type { Options } from './options.ts';

export interface DoorRate {
  /** The bare baseline, or the service in a mode. */
  who: 'bare' | Mode;
  connections: number;
  windowSeconds: number;
  /** 409 SOLD_OUT answers in the window. */
  answers: number;
  perSecond: number;
  p50: number | undefined;
  p99: number | undefined;
  errors: string;
  /** Answers in the window other than 409 SOLD_OUT. */
  failed: number;
  cpu: CpuReport;
}

export interface Burst {
  who: 'bare' | Mode;
  flow: Flow | undefined;
  users: number;
  seats: number | undefined;
  /** First send to the last final answer (ms). */
  wallMs: number;
  confirmed: number;
  soldOut: number;
  /** Users without a final answer (errors, undecided). */
  failed: number;
  errors: string;
  /** Final answer p50 / p99 (ms). */
  p50: number | undefined;
  p99: number | undefined;
  /** Seats confirmed in the database (service only), and what is left. */
  sold: number | undefined;
  available: number | undefined;
  problems: string[];
}

const failedOf = (r: LoadResult) => Object.values(r.errors).reduce((a, b) => a + b, 0) + r.undecided;

/** Closed-loop clients hammering a sold-out door for the window; every answer should be a 409. */
async function doorRate(
  e: Environment,
  o: Options,
  who: 'bare' | Mode,
  baseUrl: string,
  eventId: string,
  pids: Record<string, number>,
): Promise<DoorRate> {
  const components = { pids: { ...pids, 'load generator': e.loadgen.pid }, database: e.db.dbName };
  let window: ReturnType<typeof cpuWindow> | undefined;
  let cpu: CpuReport | undefined;
  const r = await e.loadgen.run(
    {
      kind: 'closed',
      baseUrl,
      eventId,
      userPrefix: `door-${who}-`,
      longPollSeconds: 30,
      connections: o.connections,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
    },
    {
      mark: (name) => {
        if (name === 'window-start') window = cpuWindow(components);
        if (name === 'window-end') cpu = window!.stop();
      },
    },
  );
  // A confirmation would mean the event was not sold out: not a door answer either.
  const failed = r.requests - r.soldOut;
  return {
    who,
    connections: o.connections,
    windowSeconds: o.durationMs / 1000,
    answers: r.soldOut,
    perSecond: r.soldOut / (o.durationMs / 1000),
    p50: percentile(r.decisionMs, 50),
    p99: percentile(r.decisionMs, 99),
    errors: r.confirmed > 0 ? `${errorsText(r)}; ${r.confirmed} confirmed` : errorsText(r),
    failed,
    cpu: cpu!,
  };
}

async function burst(
  e: Environment,
  o: Options,
  who: 'bare' | Mode,
  flow: Flow | undefined,
  baseUrl: string,
  eventId: string,
  warmupEventId: string,
): Promise<LoadResult> {
  return e.loadgen.run({
    kind: 'burst',
    baseUrl,
    eventId,
    userPrefix: `burst-${who}-${flow ?? 'bare'}-`,
    longPollSeconds: 30,
    ...(flow === 'prefer' ? { preferWaitSeconds: o.preferWaitSeconds } : {}),
    users: o.burstUsers,
    warmupEventId,
    warmupUsers: Math.min(200, o.burstUsers),
    timeoutMs: 60_000,
  });
}

const burstOf = (who: 'bare' | Mode, flow: Flow | undefined, r: LoadResult, seats: number | undefined): Burst => ({
  who,
  flow,
  users: r.requests,
  seats,
  wallMs: r.wallMs,
  confirmed: r.confirmed,
  soldOut: r.soldOut,
  failed: failedOf(r),
  errors: errorsText(r),
  p50: percentile(r.decisionMs, 50),
  p99: percentile(r.decisionMs, 99),
  sold: undefined,
  available: undefined,
  problems: [],
});

/** The bare door: its 409s/s under the closed-loop clients, then a burst of users at once. */
export async function partBare(e: Environment, o: Options): Promise<{ door: DoorRate; burst: Burst }> {
  const bare = await startBare(e);
  try {
    // It has no events: any id gets the same 409.
    const door = await doorRate(e, o, 'bare', bare.baseUrl, '1', { 'bare door': bare.proc.pid });
    const r = await burst(e, o, 'bare', undefined, bare.baseUrl, '1', '2');
    return { door, burst: burstOf('bare', undefined, r, undefined) };
  } finally {
    await bare.proc.stop();
  }
}

/** (i) The service's door for a sold-out event: its admission gate's 409s/s. */
export async function partDoor(e: Environment, o: Options, mode: Mode): Promise<DoorRate> {
  const service = await startService(e, mode);
  try {
    const eventId = await createEventOver(service.baseUrl, e.adminKey, 'throughput (i) sold out', 1);
    // The one seat goes (and is decided); from then on the gate answers every submission itself.
    await probe(e, service.baseUrl, eventId);
    const check = await fetch(`${service.baseUrl}/v1/events/${eventId}/bookings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${e.adminKey}` },
      body: JSON.stringify({ userId: 'door-check', quantity: 1 }),
    });
    const body = (await check.json()) as { code?: string };
    if (check.status !== 409 || body.code !== 'SOLD_OUT')
      throw new Error(`the sold-out event answered ${check.status} ${JSON.stringify(body)}, not 409 SOLD_OUT`);
    return await doorRate(e, o, mode, service.baseUrl, eventId, service.pids);
  } finally {
    await service.stop();
  }
}

/** (d) Users at once for a few seats, with each client flow in turn (a fresh event each). */
export async function partBurst(e: Environment, o: Options, mode: Mode, flows: Flow[]): Promise<Burst[]> {
  const service = await startService(e, mode);
  try {
    const warmupEventId = await createEventOver(service.baseUrl, e.adminKey, 'throughput (d) warm-up', 1_000_000);
    await probe(e, service.baseUrl, warmupEventId);
    const out: Burst[] = [];
    for (const flow of flows) {
      const eventId = await createEventOver(service.baseUrl, e.adminKey, `throughput (d) ${flow}`, o.burstSeats);
      const r = await burst(e, o, mode, flow, service.baseUrl, eventId, warmupEventId);
      const b = burstOf(mode, flow, r, o.burstSeats);
      const seats = await withClient(
        e.db.databaseUrl,
        async (c) =>
          (
            await c.query<{ sold: number; available: number }>(
              `SELECT (SELECT coalesce(sum(quantity), 0)::int FROM bookings WHERE event_id = $1 AND status = 'confirmed') AS sold,
                    (SELECT available FROM events WHERE id = $1) AS available`,
              [eventId],
            )
          ).rows[0]!,
      );
      b.sold = seats.sold;
      b.available = seats.available;
      if (seats.sold > o.burstSeats) b.problems.push(`oversold: ${seats.sold} of ${o.burstSeats} seats`);
      if (seats.sold !== r.confirmed) b.problems.push(`${seats.sold} seats sold but ${r.confirmed} confirmations received`);
      if (seats.available !== o.burstSeats - seats.sold)
        b.problems.push(`available ${seats.available} but ${seats.sold} of ${o.burstSeats} seats sold`);
      if (r.soldOut > 0 && seats.sold < o.burstSeats)
        b.problems.push(`${r.soldOut} SOLD_OUT answers while ${o.burstSeats - seats.sold} seats were left`);
      out.push(b);
    }
    return out;
  } finally {
    await service.stop();
  }
}
