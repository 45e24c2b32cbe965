// The users of the holds sale (npm run bench:holds), in a child process of the bench: see ../holds.bench.ts.
import { setTimeout as sleep } from 'node:timers/promises';

import { seededRandom } from '@booking/test-support/random';
import { Agent, request } from 'undici';

/** What the users' process is told: the sale to join and how its users behave. */
export interface Plan {
  baseUrl: string;
  eventId: string;
  users: number;
  abandon: number;
  holdSeconds: number;
  seed: number;
}

/** What one user saw. */
export interface UserOutcome {
  /** Final status of the request when the user stopped: confirmed, rejected, waitlisted (still on the list). */
  status: string;
  reason?: string;
  bookingId?: string;
  /** Got a seat only after being on the waiting list. */
  promoted: boolean;
  abandoned: boolean;
  /** The checkout's answer: the booking's status (confirmed), or the problem's code. */
  checkout?: string;
  /** ms from the start to the seat (held booking), and to the confirmed checkout. */
  seatAtMs?: number;
  confirmedAtMs?: number;
  /** Answers that are not the contract's: anything but a 503 with Retry-After, or no answer. */
  errors: string[];
  /** 503 answers (with Retry-After), each repeated as the contract asks a client to. */
  unavailable: number;
}

export interface ClientReport {
  outcomes: UserOutcome[];
}

/** A field of an answer as text for a tally: strings and numbers as they are, anything else as JSON. */
function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}

export async function runUsers(plan: Plan, stop: AbortSignal): Promise<UserOutcome[]> {
  const agent = new Agent({
    connections: plan.users + 16,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const rnd = seededRandom(plan.seed);
  const started = performance.now();
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) => {
    // No abort signal per request: 10,000 listeners on one signal made adding each one cost more
    // CPU than the request (the profile of this process showed addEventListener first). Stopping
    // destroys the agent, which ends every request in flight.
    const res = await request(`${plan.baseUrl}${path}`, {
      method,
      dispatcher: agent,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    const retryAfter = Number(res.headers['retry-after'] ?? 1);
    return {
      status: res.statusCode,
      retryAfterMs: 1_000 * (Number.isFinite(retryAfter) ? retryAfter : 1),
      body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
    };
  };

  async function user(i: number): Promise<UserOutcome> {
    const abandons = rnd() < plan.abandon;
    const thinkMs = rnd() * plan.holdSeconds * 400;
    const out: UserOutcome = { status: 'pending', promoted: false, abandoned: false, errors: [], unavailable: 0 };
    try {
      // One Idempotency-Key for the request and its repeats: a repeat after a 503 books nothing twice.
      const submit = () =>
        call(
          'POST',
          `/v1/events/${plan.eventId}/bookings`,
          { userId: `user-${i}`, quantity: 1, waitlist: true },
          { prefer: 'wait=30', 'idempotency-key': `holds-${plan.seed}-${i}` },
        );
      let first = await submit();
      while (first.status === 503 && !stop.aborted) {
        out.unavailable++;
        await sleep(first.retryAfterMs * (1 + rnd()));
        first = await submit();
      }
      let view = first.body;
      if (first.status === 409) {
        out.status = 'rejected';
        out.reason = text(view.code);
        return out;
      }
      if (first.status !== 200 && first.status !== 202) {
        out.errors.push(`submit ${first.status} ${text(view.code)}`);
        return out;
      }
      while ((view.status === 'pending' || view.status === 'waitlisted') && !stop.aborted) {
        if (view.status === 'waitlisted') out.promoted = true;
        const polled = await call('GET', `/v1/booking-requests/${String(view.requestId)}?wait=30`);
        if (polled.status !== 200) {
          if (polled.status === 503) out.unavailable++;
          else out.errors.push(`poll ${polled.status} ${text(polled.body.code)}`);
          // As a client should: wait as long as Retry-After says, spread a little.
          await sleep(polled.retryAfterMs * (1 + rnd()));
          continue;
        }
        view = polled.body;
      }
      out.status = String(view.status);
      if (view.reason) out.reason = text(view.reason);
      if (view.status !== 'confirmed') return out;
      out.bookingId = String(view.bookingId);
      out.seatAtMs = performance.now() - started;
      if (abandons) {
        out.abandoned = true;
        return out;
      }
      await sleep(thinkMs);
      let paid = await call('POST', `/v1/bookings/${out.bookingId}/confirm`);
      // A 503 is answered before anything changed or with the checkout queued: repeating it is safe.
      for (let retry = 0; paid.status === 503 && retry < 3 && !stop.aborted; retry++) {
        out.unavailable++;
        await sleep(paid.retryAfterMs * (1 + rnd()));
        paid = await call('POST', `/v1/bookings/${out.bookingId}/confirm`);
      }
      out.checkout = paid.status === 200 ? String(paid.body.status) : text(paid.body.code ?? paid.status);
      if (paid.status === 200 && paid.body.status === 'confirmed') out.confirmedAtMs = performance.now() - started;
      else if (paid.status >= 500) out.errors.push(`checkout ${paid.status} ${out.checkout}`);
      return out;
    } catch (err) {
      if (!stop.aborted) out.errors.push(err instanceof Error ? err.message : String(err));
      return out;
    }
  }

  stop.addEventListener('abort', () => void agent.destroy().catch(() => {}), { once: true });
  try {
    return await Promise.all(Array.from({ length: plan.users }, (_, i) => user(i)));
  } finally {
    await agent.destroy().catch(() => {});
  }
}
