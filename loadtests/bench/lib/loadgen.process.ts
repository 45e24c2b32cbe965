// The benchmarks' load generator: a process of its own (started by LoadGenerator in loadgen.ts), so
// that simulated users neither queue on the service's event loop nor share its file-descriptor limit.
// Loopback only: it talks to the `baseUrl` of each plan, which the bench sets to 127.0.0.1.
//
// Protocol (IPC): the bench sends { plan }; the process opens its connections and runs the plan's
// warm-up, answers 'ready', waits for 'go', runs the plan (posting 'mark's that the bench acks) and
// answers with the result. Any number of plans, one at a time, until the bench disconnects.
import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from 'undici';

import type {
  BurstPlan,
  ClosedPlan,
  FillPlan,
  FromLoadGen,
  HoldPlan,
  LoadResult,
  Plan,
  RatePlan,
  ToLoadGen,
} from './loadgen.types.ts';

const inbox: ToLoadGen[] = [];
const readers: Array<(m: ToLoadGen) => void> = [];
process.on('message', (m: ToLoadGen) => {
  const reader = readers.shift();
  if (reader) reader(m);
  else inbox.push(m);
});
process.on('disconnect', () => process.exit(0));

function next(): Promise<ToLoadGen> {
  const m = inbox.shift();
  if (m) return Promise.resolve(m);
  return new Promise((resolve) => readers.push(resolve));
}

async function expect(type: ToLoadGen['type']): Promise<void> {
  const m = await next();
  if (m.type !== type) throw new Error(`expected '${type}' from the bench, got '${m.type}'`);
}

function send(m: FromLoadGen): void {
  process.send!(m);
}

/** Tells the bench something happened and waits until it has acted on it. */
async function mark(name: string): Promise<void> {
  send({ type: 'mark', name });
  await expect('ack');
}

function newClient(origin: string): Client {
  return new Client(origin, {
    pipelining: 1,
    keepAliveTimeout: 120_000,
    keepAliveMaxTimeout: 120_000,
    connect: { timeout: 15_000 },
  });
}

/** A fixed set of keep-alive connections (one undici Client each), handed out one request at a time. */
class Connections {
  private readonly all: Client[];
  private readonly idle: Client[];
  private readonly waiting: Array<(c: Client) => void> = [];

  constructor(origin: string, n: number) {
    this.all = Array.from({ length: n }, () => newClient(origin));
    this.idle = [...this.all];
  }

  /** Opens every connection (a GET /healthz on each), `concurrency` connects at a time. */
  async open(concurrency = 200): Promise<void> {
    let i = 0;
    const opener = async () => {
      while (i < this.all.length) {
        const c = this.all[i++]!;
        const res = await c.request({ path: '/healthz', method: 'GET', headersTimeout: 30_000 });
        await res.body.dump();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, this.all.length) }, opener));
  }

  acquire(): Promise<Client> {
    const c = this.idle.pop();
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(c: Client): void {
    const w = this.waiting.shift();
    if (w) w(c);
    else this.idle.push(c);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all.map((c) => c.destroy()));
  }
}

function emptyResult(): LoadResult {
  return {
    requests: 0,
    confirmed: 0,
    soldOut: 0,
    rejected: {},
    errors: {},
    undecided: 0,
    accepted: 0,
    submitMs: [],
    decisionMs: [],
    wallMs: 0,
  };
}

const bump = (map: Record<string, number>, key: string) => {
  map[key] = (map[key] ?? 0) + 1;
};

function errorKind(err: unknown): string {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  return `network ${code || (err as Error).message}`;
}

async function readJson(body: { text(): Promise<string> }): Promise<any> {
  const text = await body.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Where one user's attempt ended, with the times it took. */
interface Outcome {
  /** confirmed | soldOut | rejected:<reason> | error:<kind> | undecided */
  kind: string;
  submitMs?: number;
  decisionMs?: number;
  requestId?: string;
  accepted: boolean;
  /** decidedAt - acceptedAt of the decision (ms), from the long-poll's answer. */
  decidedAfterMs?: number;
  /** Long-polls it took. */
  polls?: number;
}

/**
 * One user: submits one seat; a synchronous answer (201 confirmed, 409 SOLD_OUT) is its decision; on a
 * 202 it long-polls until the request is decided or `deadline` (performance.now()) passes.
 */
async function attempt(
  client: Client,
  plan: Pick<Plan, 'eventId'> & { longPollSeconds?: number },
  userId: string,
  startedAt: number,
  deadline: number,
  longPoll = true,
): Promise<Outcome> {
  let status: number;
  let body: any;
  try {
    const res = await client.request({
      path: `/v1/events/${plan.eventId}/bookings`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId, quantity: 1 }),
      headersTimeout: Math.max(1_000, deadline - performance.now()),
      bodyTimeout: 30_000,
    });
    status = res.statusCode;
    body = await readJson(res.body);
  } catch (err) {
    return { kind: `error:${errorKind(err)}`, accepted: false };
  }
  const submitMs = performance.now() - startedAt;
  if ((status === 200 || status === 201) && body?.status === 'confirmed') {
    return { kind: 'confirmed', submitMs, decisionMs: submitMs, accepted: true };
  }
  if (status === 409 && body?.code === 'SOLD_OUT') return { kind: 'soldOut', submitMs, decisionMs: submitMs, accepted: false };
  if (status !== 202) return { kind: `error:${status} ${body?.code ?? ''}`.trim(), submitMs, accepted: false };
  const requestId = body.requestId as string;
  if (!longPoll) return { kind: 'accepted', submitMs, requestId, accepted: true };
  const wait = plan.longPollSeconds ?? 30;
  let polls = 0;
  for (;;) {
    polls++;
    let view: any;
    let pollStatus: number;
    try {
      const res = await client.request({
        path: `/v1/booking-requests/${requestId}?wait=${wait}`,
        method: 'GET',
        headersTimeout: (wait + 15) * 1000,
        bodyTimeout: 30_000,
      });
      pollStatus = res.statusCode;
      view = await readJson(res.body);
    } catch (err) {
      return { kind: `error:poll ${errorKind(err)}`, submitMs, requestId, accepted: true };
    }
    if (pollStatus !== 200) return { kind: `error:poll ${pollStatus} ${view?.code ?? ''}`.trim(), submitMs, requestId, accepted: true };
    const decidedAfterMs = view.decidedAt && view.acceptedAt ? Date.parse(view.decidedAt) - Date.parse(view.acceptedAt) : undefined;
    if (view.status === 'confirmed') {
      return { kind: 'confirmed', submitMs, decisionMs: performance.now() - startedAt, requestId, accepted: true, decidedAfterMs, polls };
    }
    if (view.status === 'rejected') {
      const kind = view.reason === 'SOLD_OUT' ? 'soldOut' : `rejected:${view.reason}`;
      return { kind, submitMs, decisionMs: performance.now() - startedAt, requestId, accepted: true, decidedAfterMs, polls };
    }
    if (performance.now() > deadline) return { kind: 'undecided', submitMs, requestId, accepted: true };
  }
}

function record(r: LoadResult, o: Outcome): void {
  r.requests++;
  if (o.accepted) r.accepted++;
  if (o.submitMs !== undefined) r.submitMs.push(o.submitMs);
  if (o.decisionMs !== undefined) r.decisionMs.push(o.decisionMs);
  if (o.decisionMs !== undefined && o.decisionMs > 5_000 && (r.slow ??= []).length < 20) {
    r.slow.push({ requestId: o.requestId ?? '', ms: Math.round(o.decisionMs), decidedAfterMs: o.decidedAfterMs, polls: o.polls ?? 0 });
  }
  if (o.kind === 'confirmed') r.confirmed++;
  else if (o.kind === 'soldOut') r.soldOut++;
  else if (o.kind === 'undecided') r.undecided++;
  else if (o.kind.startsWith('rejected:')) bump(r.rejected, o.kind.slice('rejected:'.length));
  else if (o.kind.startsWith('error:')) bump(r.errors, o.kind.slice('error:'.length));
}

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
            record(r, await attempt(c, plan, `${plan.userPrefix}${i}`, due, deadline));
            last = Math.max(last, performance.now());
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

async function run(plan: Plan): Promise<LoadResult> {
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

for (;;) {
  const m = await next();
  if (m.type !== 'plan') continue;
  try {
    send({ type: 'result', result: await run(m.plan) });
  } catch (err) {
    send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
}
