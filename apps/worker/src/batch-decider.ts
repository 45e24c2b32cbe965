import {
  type BatchRequest,
  decideBookingBatch,
  type Decision,
  isPermanentDataError,
  PgErrorCode,
  rejectUnstorableRequest,
  waitlistPositions,
} from '@booking/db';
import { type BookingRequestView, newBookingId } from '@booking/domain';
import type { BookingRequestData } from '@booking/queue';

import type { ProcessorDeps } from './processor.types.ts';

/** Runs `fn` until it is done, retrying while the database is unavailable (logged as `what`). */
export type Retrying = <T>(jobId: string | undefined, eventId: string, what: string, fn: () => Promise<T>) => Promise<T>;

/** A batch decided in one transaction, its gate settlement and decisions still to be sent. */
export interface Committed {
  jobId: string | undefined;
  eventId: string;
  requests: BookingRequestData[];
  decisions: Map<string, Decision>;
  decisionMs: number;
  /** Decisions made by this transaction (not replayed). */
  fresh: number;
  /** Places on the waiting list of the requests decided `waitlisted`. */
  positions: Map<string, number>;
}

/**
 * How a batch of an event's requests is decided: in one transaction (`commit`), then counted, logged
 * and sent (`announce`: the gate's settlement and the decisions' message), or both at once (`decide`).
 */
export function batchDecider(deps: Pick<ProcessorDeps, 'db' | 'logger' | 'metrics' | 'keeper' | 'publish'>, retrying: Retrying) {
  /**
   * Decides requests in one transaction; when Postgres refuses the batch for what it holds (a value
   * it cannot store), decides the halves apart, in order, until the request at fault is alone, and
   * records that one as rejected `INVALID_REQUEST`. The rest of the batch is decided as usual.
   */
  async function decideIsolating(
    jobId: string | undefined,
    eventId: string,
    requests: BatchRequest[],
    epoch: number,
  ): Promise<Map<string, Decision>> {
    try {
      return await retrying(jobId, eventId, 'decision', () => decideBookingBatch(deps.db, eventId, requests, epoch));
    } catch (err) {
      // A missing event (foreign key) fails every request alike: splitting the batch cannot help.
      if (!isPermanentDataError(err) || (err as { code?: unknown }).code === PgErrorCode.FOREIGN_KEY_VIOLATION) throw err;
      if (requests.length === 1) {
        const request = requests[0]!;
        deps.logger.error('request refused by the database; rejected as invalid', {
          eventId,
          requestId: request.requestId,
          error: (err as Error).message,
        });
        const decision = await retrying(jobId, eventId, 'rejection', () => rejectUnstorableRequest(deps.db, eventId, request));
        return new Map([[request.requestId, decision]]);
      }
      const half = Math.ceil(requests.length / 2);
      const first = await decideIsolating(jobId, eventId, requests.slice(0, half), epoch);
      const second = await decideIsolating(jobId, eventId, requests.slice(half), epoch);
      return new Map([...first, ...second]);
    }
  }

  /** Decides requests of one event in one transaction, in order (group commit). */
  async function commit(jobId: string | undefined, eventId: string, requests: BookingRequestData[], epoch: number): Promise<Committed> {
    const started = performance.now();
    const now = Date.now();
    for (const r of requests) deps.metrics.queueWaitSeconds.observe(Math.max(0, now - Date.parse(r.acceptedAt)) / 1000);
    const decisions = await decideIsolating(
      jobId,
      eventId,
      requests.map((r) => ({ ...r, bookingId: newBookingId() })),
      epoch,
    );
    let fresh = 0;
    for (const d of decisions.values()) if (!d.replayed) fresh++;
    if (fresh > 0) deps.metrics.decisionsPerTransaction.observe(fresh);
    const waitlisted = [...decisions].filter(([, d]) => d.status === 'waitlisted').map(([id]) => id);
    const positions =
      waitlisted.length > 0
        ? await retrying(jobId, eventId, 'waitlist positions', () => waitlistPositions(deps.db, eventId, waitlisted))
        : new Map<string, number>();
    return { jobId, eventId, requests, decisions, decisionMs: performance.now() - started, fresh, positions };
  }

  /**
   * Counts and logs decisions that are durable (committed), and sends them: the gate's settlement
   * (with a rebuild when one is due) and the decisions' message, sent together in this order. With
   * `after` (the last batch's settlement), the settlement waits for it, so that the gate is settled in
   * the order of the transactions; with `rebuild: false` a rebuild found due is left owed (see
   * GateKeeper.afterDecisions), for when the next transaction may already be running.
   */
  function announce(
    { jobId, eventId, requests, decisions, decisionMs, fresh, positions }: Committed,
    { after, rebuild = true }: { after?: Promise<unknown>; rebuild?: boolean } = {},
  ): {
    settled: Promise<void>;
    published: Promise<void>;
  } {
    // A request that would have joined the waiting list, refused SOLD_OUT: the list is full, and the
    // door can say so itself from now on (until entries leave the list).
    const listFull = requests.some(
      (r) => r.waitlist === true && decisions.get(r.requestId)?.reason === 'SOLD_OUT' && !decisions.get(r.requestId)?.replayed,
    );
    const settle = () => {
      const settlements = requests.map((r) => {
        const d = decisions.get(r.requestId)!;
        return { requestId: r.requestId, status: d.status, quantity: r.quantity, userId: r.userId, replayed: d.replayed };
      });
      return retrying(jobId, eventId, 'gate settlement', () =>
        deps.keeper.afterDecisions(eventId, jobId, settlements, decisionMs, rebuild),
      );
    };
    // From the next turn of the event loop, so that a next transaction sent meanwhile goes first
    // (Postgres works on it while this settlement and its message are built and sent), and behind
    // the last batch's settlement, whether that one succeeded or not (its failure is its own).
    const turn = new Promise<void>((resolve) => setImmediate(resolve));
    const settling = turn.then(() => after).then(settle, settle);
    const settled = listFull
      ? settling.then(() => retrying(jobId, eventId, 'waiting list full', () => deps.keeper.markWaitlistFull(eventId, true)))
      : settling;
    // The decisions' message only once the gate is settled: a client that learns its decision and
    // submits again finds the gate as the decision left it. Counting, logging and building the
    // message follow the settlement; a settlement that failed does not hold it back.
    const send = () => deps.publish({ type: 'decisions', requests: buildViews() });
    const published = settled.then(send, send);
    return { settled, published };

    function buildViews(): BookingRequestView[] {
      const views: BookingRequestView[] = [];
      let confirmed = 0;
      const debug = deps.logger.isLevelEnabled('debug');
      for (const r of requests) {
        const d = decisions.get(r.requestId)!;
        if (!d.replayed) {
          deps.metrics.decisionLatencySeconds.observe(Math.max(0, d.decidedAt.getTime() - Date.parse(r.acceptedAt)) / 1000);
          if (d.status === 'confirmed') {
            confirmed++;
            deps.metrics.success.inc();
          } else if (d.status === 'rejected') deps.metrics.conflicts.inc({ reason: d.reason ?? 'UNKNOWN' });
        }
        views.push({
          requestId: r.requestId,
          eventId,
          userId: r.userId,
          quantity: r.quantity,
          status: d.status,
          ...(d.reason ? { reason: d.reason } : {}),
          ...(d.bookingId ? { bookingId: d.bookingId } : {}),
          acceptedAt: new Date(r.acceptedAt).toISOString(),
          decidedAt: d.decidedAt.toISOString(),
          ...(positions.has(r.requestId) ? { waitlistPosition: positions.get(r.requestId)! } : {}),
        });
        if (debug)
          deps.logger.debug('decided', {
            correlationId: r.correlationId,
            eventId,
            requestId: r.requestId,
            status: d.status,
            reason: d.reason ?? undefined,
            replayed: d.replayed,
          });
      }
      deps.logger.verbose('batch decided', { eventId, jobId, requests: requests.length, fresh, confirmed, ms: Math.round(decisionMs) });
      return views;
    }
  }

  /** Decides requests in one transaction, then settles the gate and publishes the decisions. */
  async function decide(jobId: string | undefined, eventId: string, requests: BookingRequestData[], epoch: number): Promise<void> {
    const { settled, published } = announce(await commit(jobId, eventId, requests, epoch));
    await Promise.all([settled, published]);
  }

  return { commit, announce, decide };
}
