import { findAcceptedRequest, findDecidedRequest } from '@booking/db';
import { AppError, type BookingRequestView, eventIdOfRequest, waitQuery } from '@booking/domain';
import { type Response, Router } from 'express';

import type { ApiDeps } from '../deps.ts';
import { parseOrThrow } from '../middleware/validate.ts';

/** Longest a long-poll waits for a message before reading the request's record again. */
const RECHECK_EVERY_MS = 5_000;

/** `GET /v1/booking-requests/:requestId?wait=SECONDS`: status, with long-poll until decided. */
export function bookingRequestsRouter(deps: ApiDeps): Router {
  const router = Router();

  /** The request while it is still queued, or undefined when the queue no longer has it. */
  async function pendingView(eventId: string, requestId: string): Promise<BookingRequestView | undefined> {
    const found = await deps.gate.pending(eventId, requestId);
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

  /** Decided, pending, or unknown (undefined) right now. */
  async function current(eventId: string, requestId: string): Promise<BookingRequestView | undefined> {
    // The gate's record first (one Redis read, no query for a request still in the queue); it is
    // removed only after the decision is committed, so when it is gone Postgres has the decision.
    let pending: BookingRequestView | undefined;
    try {
      pending = await pendingView(eventId, requestId);
    } catch (err) {
      // Redis unavailable: a decided request can still be answered from Postgres.
      const decided = await findDecidedRequest(deps.db, requestId);
      if (decided) return decided;
      throw err;
    }
    if (pending) return pending;
    const decided = await findDecidedRequest(deps.db, requestId);
    if (decided) return decided;
    // Lost by Redis and waiting in the journal for a worker to recover it.
    const journalled = await findAcceptedRequest(deps.db, requestId);
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

  router.get('/v1/booking-requests/:requestId', async (req, res) => {
    const { wait } = parseOrThrow(waitQuery, req.query, 'query');
    const { requestId } = req.params;
    const eventId = eventIdOfRequest(requestId);
    const notFound = () => new AppError('REQUEST_NOT_FOUND', `no booking request ${requestId}`);
    if (!eventId) throw notFound();

    if (wait === 0) {
      const view = await current(eventId, requestId);
      if (!view) throw notFound();
      res.json(view);
      return;
    }

    const deadline = Date.now() + wait * 1000;
    const closed = onClientGone(res);
    for (;;) {
      // Subscribe first, then read the durable record, so a decision made in between is not missed.
      // Waits are cut into segments after which the record is read again: a message lost on the
      // way (a subscription dropped and restored unnoticed) costs a client at most one segment.
      const waiter = deps.hub.register(requestId, Math.max(0, Math.min(deadline - Date.now(), RECHECK_EVERY_MS)));
      let view: BookingRequestView | undefined;
      try {
        view = await current(eventId, requestId);
      } catch (err) {
        waiter.cancel();
        throw err;
      }
      if (!view) {
        waiter.cancel();
        throw notFound();
      }
      if (view.status !== 'pending') {
        waiter.cancel();
        res.json(view);
        return;
      }
      const outcome = await Promise.race([waiter.result, closed.then(() => ({ kind: 'gone' as const }))]);
      if (outcome.kind === 'gone') {
        waiter.cancel();
        return;
      }
      const decided = outcome.kind === 'message' && outcome.message.type === 'decisions' ? outcome.message.requests[0] : undefined;
      if (decided) {
        res.json(decided);
        return;
      }
      if (outcome.kind === 'closing' || Date.now() >= deadline) {
        res.json((await current(eventId, requestId)) ?? view);
        return;
      }
      // The end of a segment, or 'recheck' (the subscription was interrupted): read again, keep waiting.
    }
  });

  return router;
}

/** Resolves when the connection closes before we answer. */
function onClientGone(res: Response): Promise<void> {
  return new Promise((resolve) => {
    res.once('close', () => resolve());
  });
}
