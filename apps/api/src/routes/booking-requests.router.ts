import { findAcceptedRequest, findDecidedRequest } from '@booking/db';
import { AppError, type BookingRequestView, eventIdOfRequest, waitQuery } from '@booking/domain';
import { type Response, Router } from 'express';

import type { ApiDeps } from '../deps.ts';
import { parseOrThrow } from '../middleware/validate.ts';

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
    const decided = await findDecidedRequest(deps.db, requestId);
    if (decided) return decided;
    const pending = await pendingView(eventId, requestId);
    if (pending) return pending;
    // Decided and removed from the queue between the two reads, or lost by Redis and waiting in the
    // journal for a worker to recover it.
    const decidedSince = await findDecidedRequest(deps.db, requestId);
    if (decidedSince) return decidedSince;
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
      const waiter = deps.hub.register(requestId, Math.max(0, deadline - Date.now()));
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
      if (outcome.kind === 'timeout' || Date.now() >= deadline) {
        res.json((await current(eventId, requestId)) ?? view);
        return;
      }
      // 'recheck': the subscription was interrupted; read again and keep waiting.
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
