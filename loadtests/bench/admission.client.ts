// The bench's load generator. It runs in a worker thread of its own, so that the clients' work does
// not queue on the service's event loop and the latencies it measures are the service's.
//
// Protocol: workerData is a ClientPlan. The thread opens one keep-alive connection per user, runs a
// warm-up round on the warm-up event, posts 'ready', waits for 'go', runs the users, posts the
// ClientResult and ends.
import { parentPort, workerData } from 'node:worker_threads';

import { type Answer, readJson } from './lib/loadgen/attempt.ts';

export interface ClientPlan {
  baseUrl: string;
  eventId: string;
  /** An event of its own for a warm-up round (JIT, scripts, connections), not measured. */
  warmupEventId: string;
  users: number;
  longPollSeconds: number;
}

export interface ClientResult {
  fastRejected: number;
  /** Submission -> 409 SOLD_OUT received (ms). */
  fastRejectMs: number[];
  /** Submission -> decision received by the long-poll, for requests that got a 202 (ms). */
  decisionMs: number[];
  confirmed: number;
  undecided: number;
  unexpected: string[];
  wallMs: number;
}

const json = (res: Response): Promise<Answer | undefined> => readJson(res);

/** One user: submits once; on a 202, long-polls until the request is decided. */
async function user(plan: ClientPlan, eventId: string, userId: string, result: ClientResult): Promise<void> {
  const started = performance.now();
  const res = await fetch(`${plan.baseUrl}/v1/events/${eventId}/bookings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, quantity: 1 }),
  });
  const body = await json(res);
  if (res.status === 409 && body?.code === 'SOLD_OUT') {
    result.fastRejected++;
    result.fastRejectMs.push(performance.now() - started);
    return;
  }
  if (res.status !== 202) {
    result.unexpected.push(`${res.status} ${body?.code ?? ''}`);
    return;
  }
  const deadline = Date.now() + 120_000;
  for (;;) {
    const poll = await fetch(`${plan.baseUrl}/v1/booking-requests/${body?.requestId ?? ''}?wait=${plan.longPollSeconds}`);
    const view = await json(poll);
    if (poll.status !== 200) {
      result.unexpected.push(`poll ${poll.status} ${view?.code ?? ''}`);
      return;
    }
    if (view?.status !== 'pending') {
      result.decisionMs.push(performance.now() - started);
      if (view?.status === 'confirmed') result.confirmed++;
      return;
    }
    if (Date.now() > deadline) {
      result.undecided++;
      return;
    }
  }
}

function emptyResult(): ClientResult {
  return { fastRejected: 0, fastRejectMs: [], decisionMs: [], confirmed: 0, undecided: 0, unexpected: [], wallMs: 0 };
}

async function run(plan: ClientPlan): Promise<void> {
  const port = parentPort!;
  // One keep-alive connection per user, opened beforehand: the figures then measure the service, not
  // the loopback listen backlog overflowing under a thousand simultaneous connects.
  await Promise.all(Array.from({ length: plan.users }, () => fetch(`${plan.baseUrl}/healthz`).then((r) => r.arrayBuffer())));
  const warmup = emptyResult();
  await Promise.all(
    Array.from({ length: Math.min(plan.users, 200) }, (_, i) => user(plan, plan.warmupEventId, `warmup-user-${i}`, warmup)),
  );
  if (warmup.unexpected.length > 0) throw new Error(`warm-up answers: ${warmup.unexpected.slice(0, 5).join(', ')}`);
  const go = new Promise<void>((resolve) => port.once('message', () => resolve()));
  port.postMessage('ready');
  await go;

  const result = emptyResult();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: plan.users }, (_, i) =>
      user(plan, plan.eventId, `bench-user-${i}`, result).catch((err: Error) => {
        result.unexpected.push(`client error: ${err.message}`);
      }),
    ),
  );
  result.wallMs = performance.now() - started;
  port.postMessage(result);
}

if (parentPort) await run(workerData as ClientPlan);
