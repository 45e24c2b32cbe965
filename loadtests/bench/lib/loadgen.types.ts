// What the bench process and its load-generator process (loadgen.process.ts) say to each other.

/**
 * How a simulated user books: submit one seat; on a `202`, long-poll the request until it is decided.
 * With `preferWaitSeconds` the submission carries `Prefer: wait=N`: a `200` with the decided request
 * is the decision in one request; a `202` (not decided within N s) falls back to the long-poll.
 */
interface Common {
  baseUrl: string;
  eventId: string;
  /** User ids are `<userPrefix><n>`: distinct per request, so per-user rate limits do not interfere. */
  userPrefix: string;
  /** `wait` of the long-polls (s). */
  longPollSeconds: number;
  /** `Prefer: wait=N` on the booking POST (s); absent: submit, then long-poll. */
  preferWaitSeconds?: number;
  /** A service with AUTH_MODE=jwt: every user sends an HS256 token for its user id, signed with this. */
  jwtSecret?: string;
}

/**
 * `users` users press "book" at once, each on a keep-alive connection of its own, opened beforehand
 * (as in the admission bench). A warm-up round of `warmupUsers` on `warmupEventId` runs before
 * 'ready' and is not measured.
 */
export interface BurstPlan extends Common {
  kind: 'burst';
  users: number;
  warmupEventId?: string;
  warmupUsers?: number;
  /** Give up on a user after this long (counted as undecided). */
  timeoutMs: number;
}

/**
 * Open model: a new user arrives every 1/rate s for `durationMs`, whatever the answers so far; users
 * share up to `connections` keep-alive connections (an arrival finding none free waits for one, and
 * that wait counts in its latency: latencies run from the scheduled arrival).
 */
export interface RatePlan extends Common {
  kind: 'rate';
  rate: number;
  durationMs: number;
  connections: number;
  warmupEventId?: string;
  warmupUsers?: number;
  timeoutMs: number;
}

/**
 * Closed model: `connections` clients, each submitting and then long-polling, again and again, for
 * `warmupMs + durationMs`; figures cover the `durationMs` window after the warm-up, which is marked
 * ('window-start', 'window-end') so the bench can sample CPU over the same window.
 */
export interface ClosedPlan extends Common {
  kind: 'closed';
  connections: number;
  warmupMs: number;
  durationMs: number;
}

/** Submits `requests` requests over `connections` connections as fast as they are answered (no long-polls). */
export interface FillPlan extends Omit<Common, 'longPollSeconds'> {
  kind: 'fill';
  requests: number;
  connections: number;
}

/**
 * Submits `requests` requests, then opens one connection per request and holds a long-poll on each
 * (`?wait=longPollSeconds`), `batch` connections at a time; marks 'holding' once all are sent and
 * waits for the bench's ack before closing them.
 */
export interface HoldPlan extends Common {
  kind: 'hold';
  requests: number;
  batch: number;
}

export type Plan = BurstPlan | RatePlan | ClosedPlan | FillPlan | HoldPlan;

export interface LoadResult {
  /** Requests sent (in the measured part). */
  requests: number;
  confirmed: number;
  /** Definite `SOLD_OUT` answers: `409` at submission, or a long-poll answering `rejected`/`SOLD_OUT`. */
  soldOut: number;
  /** Other definite rejections, by reason. */
  rejected: Record<string, number>;
  /** Answers that are not a decision, by kind: `503 UNAVAILABLE`, `409 RETRIES_EXHAUSTED`, `timeout`, ... */
  errors: Record<string, number>;
  /** Accepted (`202`) but no decision before the deadline. */
  undecided: number;
  /** Accepted with `202` (the pipeline) or answered synchronously. */
  accepted: number;
  /** Send -> answer to the submission (ms), for every submission answered with a status. */
  submitMs: number[];
  /** Send -> decision received (ms), for every request decided (the submission's answer when synchronous). */
  decisionMs: number[];
  /** First send -> last answer (ms). */
  wallMs: number;
  /**
   * Rate plans: when each definite answer (confirmed, SOLD_OUT, other rejection) reached its client,
   * in ms from the plan's start (its first scheduled arrival).
   */
  answeredAtMs?: number[];
  /** Submissions with `Prefer: wait` answered `202` (not decided within the wait), then long-polled. */
  preferFallbacks?: number;
  /** Request ids of `202`s (fill and hold plans only). */
  requestIds?: string[];
  /** Long-polls still open (hold plans) when the bench took its reading. */
  held?: number;
  /**
   * Decisions that took over 5 s to reach the client (up to 20): how long, and how long after its
   * acceptance the service decided it (decidedAt - acceptedAt), which tells a slow decision from a
   * decision the long-poll heard of late.
   */
  slow?: Array<{ requestId: string; ms: number; decidedAfterMs: number | undefined; polls: number }>;
}

/** bench -> load generator. */
export type ToLoadGen = { type: 'plan'; plan: Plan } | { type: 'go' } | { type: 'ack' };
/** load generator -> bench. */
export type FromLoadGen =
  { type: 'ready' } | { type: 'mark'; name: string } | { type: 'result'; result: LoadResult } | { type: 'failed'; error: string };
