// One simulated user's attempt (submit, then long-poll until decided) and how its outcome is recorded.
import { createHmac } from 'node:crypto';

import type { Client } from 'undici';

import type { LoadResult, Plan } from '../loadgen.types.ts';

export function emptyResult(): LoadResult {
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

export const bump = (map: Record<string, number>, key: string) => {
  map[key] = (map[key] ?? 0) + 1;
};

export function errorKind(err: unknown): string {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  return `network ${code || (err as Error).message}`;
}

/** The fields of the service's JSON answers (a booking request's view, a 202, a problem) the load generator reads. */
export interface Answer {
  status?: string;
  reason?: string;
  code?: string;
  requestId?: string;
  decidedAt?: string;
  acceptedAt?: string;
}

/** The body as JSON, or undefined when it is empty or not JSON. */
export async function readJson(body: { text(): Promise<string> }): Promise<Answer | undefined> {
  const text = await body.text();
  try {
    return text ? (JSON.parse(text) as Answer) : undefined;
  } catch {
    return undefined;
  }
}

/** Where one user's attempt ended, with the times it took. */
export interface Outcome {
  /** confirmed | soldOut | rejected:<reason> | error:<kind> | undecided */
  kind: string;
  submitMs?: number | undefined;
  decisionMs?: number | undefined;
  requestId?: string | undefined;
  accepted: boolean;
  /** decidedAt - acceptedAt of the decision (ms), from the long-poll's answer. */
  decidedAfterMs?: number | undefined;
  /** Long-polls it took. */
  polls?: number | undefined;
  /** Sent with `Prefer: wait`, answered `202`: the decision came from a long-poll. */
  preferFallback?: boolean | undefined;
}

/**
 * An HS256 token for `userId`, valid for ten minutes, as an identity provider would issue it (made
 * here with node:crypto: a few microseconds, so the load generator stays light).
 */
function userToken(secret: string, userId: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: userId, iat: now, exp: now + 600 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

const decidedView = (view: Answer | undefined): string | undefined => {
  if (view?.status === 'confirmed') return 'confirmed';
  if (view?.status === 'rejected') return view.reason === 'SOLD_OUT' ? 'soldOut' : `rejected:${view.reason ?? ''}`;
  return undefined;
};

/**
 * One user: submits one seat; a synchronous answer (201 confirmed, 409 SOLD_OUT, or with
 * `plan.preferWaitSeconds` a 200 with the decided request) is its decision; on a 202 it long-polls
 * until the request is decided or `deadline` (performance.now()) passes.
 */
export async function attempt(
  client: Client,
  plan: Pick<Plan, 'eventId'> & { longPollSeconds?: number; preferWaitSeconds?: number | undefined; jwtSecret?: string | undefined },
  userId: string,
  startedAt: number,
  deadline: number,
  longPoll = true,
): Promise<Outcome> {
  let status: number;
  let body: Answer | undefined;
  const token = plan.jwtSecret ? { authorization: `Bearer ${userToken(plan.jwtSecret, userId)}` } : {};
  try {
    const res = await client.request({
      path: `/v1/events/${plan.eventId}/bookings`,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(plan.preferWaitSeconds ? { prefer: `wait=${plan.preferWaitSeconds}` } : {}),
        ...token,
      },
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
  // 201: a synchronous baseline's booking; 200: the service's answer to `Prefer: wait`, the decided request.
  const decided = status === 201 || status === 200 ? decidedView(body) : undefined;
  if (decided) return { kind: decided, submitMs, decisionMs: submitMs, requestId: body?.requestId, accepted: true };
  if (status === 409 && body?.code === 'SOLD_OUT') return { kind: 'soldOut', submitMs, decisionMs: submitMs, accepted: false };
  if (status !== 202) return { kind: `error:${status} ${body?.code ?? ''}`.trim(), submitMs, accepted: false };
  const requestId = body?.requestId ?? '';
  if (!longPoll) return { kind: 'accepted', submitMs, requestId, accepted: true };
  const preferFallback = plan.preferWaitSeconds ? true : undefined;
  const wait = plan.longPollSeconds ?? 30;
  let polls = 0;
  for (;;) {
    polls++;
    let view: Answer | undefined;
    let pollStatus: number;
    try {
      const res = await client.request({
        path: `/v1/booking-requests/${requestId}?wait=${wait}`,
        method: 'GET',
        headers: token,
        headersTimeout: (wait + 15) * 1000,
        bodyTimeout: 30_000,
      });
      pollStatus = res.statusCode;
      view = await readJson(res.body);
    } catch (err) {
      return { kind: `error:poll ${errorKind(err)}`, submitMs, requestId, accepted: true };
    }
    if (pollStatus !== 200) return { kind: `error:poll ${pollStatus} ${view?.code ?? ''}`.trim(), submitMs, requestId, accepted: true };
    const decidedAfterMs = view?.decidedAt && view.acceptedAt ? Date.parse(view.decidedAt) - Date.parse(view.acceptedAt) : undefined;
    const kind = decidedView(view);
    if (kind) {
      return {
        kind,
        submitMs,
        decisionMs: performance.now() - startedAt,
        requestId,
        accepted: true,
        decidedAfterMs,
        polls,
        preferFallback,
      };
    }
    if (performance.now() > deadline) return { kind: 'undecided', submitMs, requestId, accepted: true, preferFallback };
  }
}

/** Whether an outcome is a definite answer: confirmed, SOLD_OUT, or another rejection. */
export const isDecision = (o: Outcome) => o.kind === 'confirmed' || o.kind === 'soldOut' || o.kind.startsWith('rejected:');

export function record(r: LoadResult, o: Outcome): void {
  r.requests++;
  if (o.accepted) r.accepted++;
  if (o.preferFallback) r.preferFallbacks = (r.preferFallbacks ?? 0) + 1;
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
