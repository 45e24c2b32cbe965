// The booking rule, written once as plain code: how an event's seats go to the requests for it.
//
// This is the reference, not the code that runs in production. The rule runs where the data is:
// in PostgreSQL (`decide_bookings`, packages/db/sql/functions), which makes every final decision,
// and in Redis (the admission gate, packages/queue/src/gate.lua.ts), which replays the same rule at
// the door to turn away what the database would refuse as sold out. The property test
// packages/queue/test/booking-rule.property.test.ts feeds random sequences of requests to this
// reference, the SQL function and the gate and requires them to agree.
//
// The rule, for one event, request by request in the order given (first come, first served):
//   1. A request decided before (same request id: a redelivered job) gets its first decision back,
//      marked as replayed, and changes nothing.
//   2. With a per-user limit, a request that would take the user's confirmed seats past it is
//      rejected `USER_LIMIT_EXCEEDED`. This is checked first: a request both over the limit and
//      larger than what is left is `USER_LIMIT_EXCEEDED`.
//   3. A request for more seats than are left is rejected `SOLD_OUT`, whether none are left (sold
//      out) or only fewer than it asks for (not enough seats): the two are one reason, and a later,
//      smaller request may still be confirmed.
//   4. Otherwise it is confirmed: its seats are taken from those left and added to the user's.
//   A rejection changes nothing. Cancellations and the sales window are not part of this rule, nor
//   requests the database cannot store (`INVALID_REQUEST`).

/** Why the rule turns a request down (a subset of `RejectionReason`). */
export type RuleRejection = 'USER_LIMIT_EXCEEDED' | 'SOLD_OUT';

/** What the rule needs to know of an event. */
export interface RuleEvent {
  capacity: number;
  /** Most seats one user may hold; null: no limit. */
  maxPerUser: number | null;
}

/** A booking request as the rule sees it. */
export interface RuleRequest {
  requestId: string;
  userId: string;
  quantity: number;
}

export type RuleOutcome = { status: 'confirmed'; reason: null } | { status: 'rejected'; reason: RuleRejection };

export type RuleDecision = RuleOutcome & {
  requestId: string;
  /** True when the request had been decided before: this is its first decision, nothing changed. */
  replayed: boolean;
};

/** An event's state as far as the rule goes. Never changed in place: each step returns a new one. */
export interface RuleState {
  /** Seats left. */
  available: number;
  /** Confirmed seats per user (users with none are absent). */
  seatsByUser: ReadonlyMap<string, number>;
  /** The first decision of every request decided so far. */
  decided: ReadonlyMap<string, RuleOutcome>;
}

/** The state of an event nobody has booked yet. */
export function initialRuleState(event: RuleEvent): RuleState {
  return { available: event.capacity, seatsByUser: new Map(), decided: new Map() };
}

/** The outcome the rule gives `request` in `state`, ignoring rule 1 (replays). */
export function judge(event: RuleEvent, state: RuleState, request: Omit<RuleRequest, 'requestId'>): RuleOutcome {
  const held = state.seatsByUser.get(request.userId) ?? 0;
  if (event.maxPerUser !== null && held + request.quantity > event.maxPerUser) {
    return { status: 'rejected', reason: 'USER_LIMIT_EXCEEDED' };
  }
  if (state.available < request.quantity) return { status: 'rejected', reason: 'SOLD_OUT' };
  return { status: 'confirmed', reason: null };
}

/** Decides one request: its decision and the state after it. */
export function decideOne(event: RuleEvent, state: RuleState, request: RuleRequest): { decision: RuleDecision; state: RuleState } {
  const earlier = state.decided.get(request.requestId);
  if (earlier) return { decision: { ...earlier, requestId: request.requestId, replayed: true }, state };
  const outcome = judge(event, state, request);
  const decided = new Map(state.decided).set(request.requestId, outcome);
  if (outcome.status === 'rejected') {
    return { decision: { ...outcome, requestId: request.requestId, replayed: false }, state: { ...state, decided } };
  }
  const seatsByUser = new Map(state.seatsByUser).set(request.userId, (state.seatsByUser.get(request.userId) ?? 0) + request.quantity);
  return {
    decision: { ...outcome, requestId: request.requestId, replayed: false },
    state: { available: state.available - request.quantity, seatsByUser, decided },
  };
}

/** Decides requests in the order given: the decision of each, in that order, and the final state. */
export function decideAll(
  event: RuleEvent,
  state: RuleState,
  requests: readonly RuleRequest[],
): { decisions: RuleDecision[]; state: RuleState } {
  const decisions: RuleDecision[] = [];
  let current = state;
  for (const request of requests) {
    const step = decideOne(event, current, request);
    decisions.push(step.decision);
    current = step.state;
  }
  return { decisions, state: current };
}

/** Confirmed seats of the state (capacity minus what is left). */
export function confirmedSeats(event: RuleEvent, state: RuleState): number {
  return event.capacity - state.available;
}
