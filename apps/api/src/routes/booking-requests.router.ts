import { AppError, eventIdOfRequest, waitQuery } from '@booking/domain';
import { type Response, Router } from 'express';

import { callerOf, mayAccess } from '../auth/caller.ts';
import type { ApiDeps } from '../deps.ts';
import { checkPathIds, parseOrThrow } from '../middleware/validate.ts';

/** `GET /v1/booking-requests/:requestId?wait=SECONDS`: status, with long-poll until decided. */
export function bookingRequestsRouter(deps: ApiDeps): Router {
  const router = Router();

  router.get('/v1/booking-requests/:requestId', async (req, res) => {
    checkPathIds(req.params);
    const { wait } = parseOrThrow(waitQuery, req.query, 'query');
    const caller = await callerOf(deps, req);
    const { requestId } = req.params;
    const eventId = eventIdOfRequest(requestId);
    const notFound = () => new AppError('REQUEST_NOT_FOUND', `no booking request ${requestId}`);
    if (!eventId) throw notFound();

    // With identities, read first: someone else's request answers as if it did not exist, before any wait.
    let view = deps.auth.mode === 'none' && wait > 0 ? undefined : await deps.decisions.current(eventId, requestId);
    if (view && !mayAccess(deps.auth, caller, view.userId)) view = undefined;
    if (wait === 0 || (view && view.status !== 'pending') || (!view && deps.auth.mode !== 'none')) {
      if (!view) throw notFound();
      res.json(view);
      return;
    }
    const release = deps.longPolls.acquire(caller.kind === 'user' ? caller.userId : undefined);
    try {
      const waited = await deps.decisions.until(eventId, requestId, Date.now() + wait * 1000, onClientGone(res));
      if (waited === 'gone') return;
      if (!waited) throw notFound();
      res.json(waited);
    } finally {
      release();
    }
  });

  return router;
}

/** Resolves when the connection closes before we answer. */
export function onClientGone(res: Response): Promise<void> {
  return new Promise((resolve) => {
    res.once('close', () => resolve());
  });
}
