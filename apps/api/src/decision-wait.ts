import { type Db, findAcceptedRequest, findDecidedRequests, requestStatuses } from '@booking/db';
import type { BookingRequestView, RequestStatus } from '@booking/domain';
import type { AdmissionGate, DecisionHub, WaitOutcome } from '@booking/queue';

import { gathered } from './gathered.ts';
import { WaitlistPositions } from './waitlist-positions.ts';

/** Longest a wait of a pending request goes without reading the request's record again. */
const RECHECK_EVERY_MS = 5_000;
/**
 * The same for a waitlisted request, which may wait for minutes: its change (a promotion, a
 * withdrawal, the sale's end) comes as a message like a decision, and a subscription that was
 * interrupted says so ('recheck'); the re-read only guards against a message lost unnoticed.
 * Thousands of waitlisted long-polls each reading every 5 s kept a sale's database busy.
 */
const WAITLISTED_RECHECK_EVERY_MS = 15_000;
/** How long reads of waiting requests gather before they go to PostgreSQL as one query. */
const RECHECK_BATCH_MS = 5;

/** A registration with the decision hub: settles on the request's decision message, or a timeout. */
export interface Registration {
  result: Promise<WaitOutcome>;
  cancel: () => void;
}

export interface DecisionWaitDeps {
  db: Db;
  gate: AdmissionGate;
  hub: DecisionHub;
}

/** Reads and awaits the decisions of booking requests, for the long-poll and for `Prefer: wait`. */
export class DecisionWait {
  private readonly positions: WaitlistPositions;
  /** Decided requests read for waits that begin, gathered: a sale's thousands of polls at once. */
  private readonly decided: (requestId: string) => Promise<BookingRequestView | undefined>;
  /** Statuses of waitlisted requests whose wait reached the end of a segment, gathered likewise. */
  private readonly statuses: (requestId: string) => Promise<RequestStatus | undefined>;

  constructor(private readonly deps: DecisionWaitDeps) {
    this.positions = new WaitlistPositions(deps.db, deps.hub);
    this.decided = gathered(RECHECK_BATCH_MS, (ids) => findDecidedRequests(deps.db, ids, this.placeOf));
    this.statuses = gathered(RECHECK_BATCH_MS, (ids) => requestStatuses(deps.db, ids));
  }

  private readonly placeOf = (eventId: string, requestId: string) => this.positions.of(eventId, requestId);

  /** Registers for the request's decision message; for at most one segment of a wait. */
  register(requestId: string, deadline: number, status: RequestStatus = 'pending'): Registration {
    const segment = status === 'waitlisted' ? WAITLISTED_RECHECK_EVERY_MS : RECHECK_EVERY_MS;
    return this.deps.hub.register(requestId, Math.max(0, Math.min(deadline - Date.now(), segment)));
  }

  /** Decided, pending, or unknown (undefined) right now. */
  async current(eventId: string, requestId: string): Promise<BookingRequestView | undefined> {
    // The gate's record first (one Redis read, no query for a request still in the queue); it is
    // removed only after the decision is committed, so when it is gone Postgres has the decision.
    let pending: BookingRequestView | undefined;
    try {
      pending = await this.pendingView(eventId, requestId);
    } catch (err) {
      // Redis unavailable: a decided request can still be answered from Postgres.
      const decided = await this.decided(requestId);
      if (decided) return decided;
      throw err;
    }
    if (pending) return pending;
    const decided = await this.decided(requestId);
    if (decided) return decided;
    // Lost by Redis and waiting in the journal for a worker to recover it.
    const journalled = await findAcceptedRequest(this.deps.db, requestId);
    if (!journalled || journalled.eventId !== eventId) return undefined;
    return {
      requestId,
      eventId,
      userId: journalled.userId,
      quantity: journalled.quantity,
      status: 'pending',
      acceptedAt: journalled.acceptedAt.toISOString(),
    };
  }

  /**
   * Waits until the request's status differs from its status when the call began (pending becomes
   * decided or waitlisted, waitlisted becomes confirmed or rejected; a decided request answers at
   * once) or `deadline` passes, and returns what is known then:
   * undefined for an unknown request, `'gone'` when `gone` resolved first (the client left).
   * `registered`, when given, was registered before the request was queued, so its decision cannot
   * have been published unseen and the first read is skipped.
   */
  async until(
    eventId: string,
    requestId: string,
    deadline: number,
    gone: Promise<void>,
    registered?: Registration,
  ): Promise<BookingRequestView | undefined | 'gone'> {
    let waiter = registered;
    let last: BookingRequestView | undefined;
    // The status when the call began: the wait ends when it changes.
    let from: RequestStatus | undefined = registered ? 'pending' : undefined;
    if (!waiter) {
      // A request this process queued itself: its decision, or that it is still pending, is known here
      // (checked and registered in one go, so no decision can slip in between).
      const known = this.deps.hub.known(requestId);
      const decided = known?.state === 'decided' && known.message.type === 'decisions' ? known.message.requests[0] : undefined;
      if (decided && decided.status !== 'waitlisted') return decided;
      if (known?.state === 'pending') {
        waiter = this.register(requestId, deadline);
        from = 'pending';
      }
    }
    for (;;) {
      if (!waiter) {
        // Register first, then read the durable record, so a decision made in between is not missed.
        // Waits are cut into segments after which the record is read again: a message lost on the
        // way (a subscription dropped and restored unnoticed) costs a client at most one segment.
        waiter = this.register(requestId, deadline, from ?? 'pending');
        try {
          // A waitlisted request changes only in PostgreSQL: its status alone is read again (with
          // others', in one query), and the whole view (with its place on the list) once it changed.
          const unchanged = from === 'waitlisted' && last !== undefined && (await this.statuses(requestId)) === 'waitlisted';
          if (!unchanged) last = await this.current(eventId, requestId);
        } catch (err) {
          waiter.cancel();
          throw err;
        }
        from ??= last?.status;
        if (!last || (last.status !== 'pending' && last.status !== 'waitlisted') || last.status !== from) {
          waiter.cancel();
          return last;
        }
      }
      const outcome = await Promise.race([waiter.result, gone.then(() => ({ kind: 'gone' as const }))]);
      if (outcome.kind === 'gone') {
        waiter.cancel();
        return 'gone';
      }
      const decided = outcome.kind === 'message' && outcome.message.type === 'decisions' ? outcome.message.requests[0] : undefined;
      if (decided && decided.status !== from) return decided;
      if (outcome.kind === 'closing' || Date.now() >= deadline) return (await this.current(eventId, requestId)) ?? last;
      // The end of a segment, or 'recheck' (the subscription was interrupted): read again, keep waiting.
      waiter = undefined;
    }
  }

  /** The request while it is still queued, or undefined when the queue no longer has it. */
  private async pendingView(eventId: string, requestId: string): Promise<BookingRequestView | undefined> {
    const found = await this.deps.gate.pending(eventId, requestId);
    if (!found) return undefined;
    return {
      requestId,
      eventId,
      userId: found.userId,
      quantity: found.quantity,
      status: 'pending',
      acceptedAt: found.acceptedAt,
      position: found.ahead,
      estimatedWaitMs: Math.round((found.ahead + 1) * found.msPerDecision),
    };
  }
}
