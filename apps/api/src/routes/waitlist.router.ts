import { AppError, eventIdOfRequest } from '@booking/domain';
import { withdrawJobId } from '@booking/queue';
import { Router } from 'express';

import { callerOf, mayAccess } from '../auth/caller.ts';
import type { ApiDeps } from '../deps.ts';
import { sendProblem, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../middleware/problem.ts';
import { checkPathIds } from '../middleware/validate.ts';

/** `POST /v1/booking-requests/:requestId/withdraw`: leaving the waiting list. */
export function waitlistRouter(deps: ApiDeps): Router {
  const router = Router();

  // The withdrawal runs in the event's queue, like the promotions it could race with, so an entry is
  // either promoted or withdrawn, never both; this handler waits for it to be applied.
  router.post('/v1/booking-requests/:requestId/withdraw', async (req, res) => {
    checkPathIds(req.params);
    const { requestId } = req.params;
    // With identities this needs the bearer token, and someone else's request answers as if it did not exist.
    const caller = await callerOf(deps, req);
    const eventId = eventIdOfRequest(requestId);
    const current = eventId ? await deps.decisions.current(eventId, requestId) : undefined;
    if (!eventId || !current || !mayAccess(deps.auth, caller, current.userId)) {
      throw new AppError('REQUEST_NOT_FOUND', `no booking request ${requestId}`);
    }
    const notWaitlisted = (status: string) =>
      sendProblem(res, new AppError('NOT_WAITLISTED', `booking request ${requestId} is ${status}, not waitlisted`));
    if (current.status === 'rejected' && current.reason === 'WITHDRAWN') {
      res.json(current);
      return;
    }
    if (current.status !== 'waitlisted') {
      notWaitlisted(current.status);
      return;
    }
    const jobId = withdrawJobId(requestId);
    const deadline = Date.now() + deps.cancelWaitMs;
    let waiter = deps.hub.register(jobId, deps.cancelWaitMs);
    try {
      await deps.queues.enqueue(eventId, jobId, { kind: 'withdraw', requestId, eventId });
    } catch (err) {
      waiter.cancel();
      throw err;
    }
    for (;;) {
      const outcome = await waiter.result;
      // Re-read: the outcome is PostgreSQL's (withdrawn, or promoted just before).
      const after = await deps.decisions.current(eventId, requestId);
      if (after && after.status !== 'waitlisted') {
        waiter.cancel();
        if (after.status === 'rejected' && after.reason === 'WITHDRAWN') res.json(after);
        else notWaitlisted(after.status);
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0 || outcome.kind === 'closing') break;
      waiter = deps.hub.register(jobId, Math.min(left, 1_000));
    }
    throw new AppError('UNAVAILABLE', 'the withdrawal is queued but not applied yet; repeat the call', {
      retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
    });
  });

  return router;
}
