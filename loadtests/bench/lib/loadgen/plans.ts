// The load generator's plans: bursts, a fixed arrival rate, closed-loop clients, filling a queue and
// holding long-polls. Each opens its connections, answers 'ready', waits for 'go' and returns the result.
import { setTimeout as sleep } from 'node:timers/promises';

import type { Client } from 'undici';

import type { BurstPlan, ClosedPlan, FillPlan, HoldPlan, LoadResult, Plan, RatePlan } from '../loadgen.types.ts';
import { attempt, bump, emptyResult, errorKind, isDecision, record } from './attempt.ts';
import { Connections, newClient } from './connections.ts';
import { expect, mark, send } from './ipc.ts';

/** Runs `n` users on `eventId` over `conns` (not measured); warns about answers that are not decisions. */
async function warmUp(conns: Connections, plan: Plan & { longPollSeconds: number }, eventId: string, n: number): Promise<void> {
  const r = emptyResult();
  const deadline = performance.now() + 60_000;
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const c = await conns.acquire();
      try {
        record(r, await attempt(c, { ...plan, eventId }, `${plan.userPrefix}warmup-${i}`, performance.now(), deadline));
      } finally {
        conns.release(c);
      }
    }),
  );
  const errors = Object.entries(r.errors);
  if (errors.length > 0) process.stderr.write(`load generator: warm-up answers that are not decisions: ${JSON.stringify(r.errors)}\n`);
}

async function burst(plan: BurstPlan): Promise<LoadResult> {
  const conns = new Connections(new URL(plan.baseUrl).origin, plan.users);
  try {
    await conns.open();
    if (plan.warmupEventId) await warmUp(conns, plan, plan.warmupEventId, Math.min(plan.users, plan.warmupUsers ?? 200));
    send({ type: 'ready' });
    await expect('go');
    const r = emptyResult();
    const started = performance.now();
    const deadline = started + plan.timeoutMs;
    let last = started;
    await Promise.all(
      Array.from({ length: plan.users }, async (_, i) => {
        const c = await conns.acquire();
        try {
          record(r, await attempt(c, plan, `${plan.userPrefix}${i}`, performance.now(), deadline));
          last = Math.max(last, performance.now());
        } finally {
          conns.release(c);
        }
      }),
    );
    r.wallMs = last - started;
    return r;
  } finally {
    await conns.close();
  }
}

async function rate(plan: RatePlan): Promise<LoadResult> {
  const conns = new Connections(new URL(plan.baseUrl).origin, plan.connections);
  try {
    await conns.open();
    if (plan.warmupEventId) await warmUp(conns, plan, plan.warmupEventId, Math.min(plan.connections, plan.warmupUsers ?? 200));
    send({ type: 'ready' });
    await expect('go');
    const r = emptyResult();
    r.answeredAtMs = [];
    const total = Math.round((plan.rate * plan.durationMs) / 1000);
    const interval = 1000 / plan.rate;
    const started = performance.now();
    let last = started;
    const running: Array<Promise<void>> = [];
    const launch = (i: number) => {
      const due = started + i * interval;
      const deadline = due + plan.timeoutMs;
      running.push(
        (async () => {
          const c = await conns.acquire();
          try {
            // Latency from the scheduled arrival: time spent waiting for a free connection counts.
            const o = await attempt(c, plan, `${plan.userPrefix}${i}`, due, deadline);
            record(r, o);
            last = Math.max(last, performance.now());
            if (isDecision(o)) r.answeredAtMs!.push(last - started);
          } finally {
            conns.release(c);
          }
        })(),
      );
    };
    let i = 0;
    while (i < total) {
      const now = performance.now();
      while (i < total && started + i * interval <= now) launch(i++);
      if (i < total) await sleep(Math.max(0, Math.min(5, started + i * interval - performance.now())));
    }
    await Promise.all(running);
    r.wallMs = last - started;
    return r;
  } finally {
    await conns.close();
  }
}

async function closed(plan: ClosedPlan): Promise<LoadResult> {
  const conns = new Connections(new URL(plan.baseUrl).origin, plan.connections);
  try {
    await conns.open();
    send({ type: 'ready' });
    await expect('go');
    const r = emptyResult();
    const started = performance.now();
    const windowStart = started + plan.warmupMs;
    const windowEnd = windowStart + plan.durationMs;
    let n = 0;
    const marks = (async () => {
      await sleep(windowStart - performance.now());
      await mark('window-start');
      await sleep(Math.max(0, windowEnd - performance.now()));
      await mark('window-end');
    })();
    const client = async () => {
      const c = await conns.acquire();
      try {
        while (performance.now() < windowEnd) {
          const t = performance.now();
          const o = await attempt(c, plan, `${plan.userPrefix}${n++}`, t, t + 60_000);
          const done = performance.now();
          if (done >= windowStart && done < windowEnd) record(r, o);
        }
      } finally {
        conns.release(c);
      }
    };
    await Promise.all([marks, ...Array.from({ length: plan.connections }, client)]);
    r.wallMs = plan.durationMs;
    return r;
  } finally {
    await conns.close();
  }
}

/** Submits `plan.requests` requests over `connections` connections; returns the 202s' request ids. */
async function submitAll(plan: Omit<FillPlan, 'kind'>, r: LoadResult): Promise<void> {
  const conns = new Connections(new URL(plan.baseUrl).origin, plan.connections);
  try {
    await conns.open();
    r.requestIds = [];
    let n = 0;
    const started = performance.now();
    const client = async () => {
      const c = await conns.acquire();
      try {
        while (n < plan.requests) {
          const i = n++;
          const t = performance.now();
          const o = await attempt(c, plan, `${plan.userPrefix}${i}`, t, t + 30_000, false);
          if (o.kind === 'accepted') {
            r.requests++;
            r.accepted++;
            r.submitMs.push(o.submitMs!);
            r.requestIds!.push(o.requestId!);
          } else {
            record(r, o);
          }
        }
      } finally {
        conns.release(c);
      }
    };
    await Promise.all(Array.from({ length: plan.connections }, client));
    r.wallMs = performance.now() - started;
  } finally {
    await conns.close();
  }
}

async function fill(plan: FillPlan): Promise<LoadResult> {
  send({ type: 'ready' });
  await expect('go');
  const r = emptyResult();
  await submitAll(plan, r);
  return r;
}

async function hold(plan: HoldPlan): Promise<LoadResult> {
  send({ type: 'ready' });
  await expect('go');
  const r = emptyResult();
  await submitAll({ ...plan, connections: 256 }, r);
  await mark('submitted');
  const origin = new URL(plan.baseUrl).origin;
  const ids = r.requestIds ?? [];
  const clients: Client[] = [];
  let answered = 0;
  const polls: Array<Promise<void>> = [];
  for (let b = 0; b < ids.length; b += plan.batch) {
    const connected: Array<Promise<void>> = [];
    for (const id of ids.slice(b, b + plan.batch)) {
      const c = newClient(origin);
      clients.push(c);
      connected.push(
        new Promise<void>((resolve) => {
          c.once('connect', () => resolve());
          c.once('connectionError', () => resolve());
        }),
      );
      polls.push(
        c
          .request({
            path: `/v1/booking-requests/${id}?wait=${plan.longPollSeconds}`,
            method: 'GET',
            headersTimeout: (plan.longPollSeconds + 15) * 1000,
          })
          .then(async (res) => {
            await res.body.dump();
            answered++;
            if (res.statusCode !== 200) bump(r.errors, `poll ${res.statusCode}`);
          })
          .catch((err: unknown) => {
            // Closing the connections below aborts the long-polls still held: expected.
            if ((err as { code?: string }).code !== 'UND_ERR_DESTROYED' && (err as { code?: string }).code !== 'UND_ERR_CLOSED') {
              bump(r.errors, `poll ${errorKind(err)}`);
            }
          }),
      );
    }
    await Promise.all(connected);
  }
  await mark('holding');
  r.held = ids.length - answered;
  await Promise.allSettled(clients.map((c) => c.destroy()));
  await Promise.allSettled(polls);
  return r;
}

export async function run(plan: Plan): Promise<LoadResult> {
  switch (plan.kind) {
    case 'burst':
      return burst(plan);
    case 'rate':
      return rate(plan);
    case 'closed':
      return closed(plan);
    case 'fill':
      return fill(plan);
    case 'hold':
      return hold(plan);
  }
}
