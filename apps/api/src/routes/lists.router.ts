import { listEventsPage, listUserBookingsPage, toBookingView, toEventView } from '@booking/db';
import { pageQuery } from '@booking/domain';
import { Router } from 'express';

import { callerOf, requireUser } from '../auth/caller.ts';
import { decodeCursor, page } from '../cursor.ts';
import type { ApiDeps } from '../deps.ts';
import { parseOrThrow } from '../middleware/validate.ts';

/** `GET /v1/events` (public) and `GET /v1/me/bookings` (the caller's): newest first, cursor-paged. */
export function listsRouter(deps: ApiDeps): Router {
  const router = Router();

  router.get('/v1/events', async (req, res) => {
    const { limit, cursor } = parseOrThrow(pageQuery, req.query, 'query');
    // One row more than asked tells whether there is a next page.
    const rows = await listEventsPage(deps.db, limit + 1, cursor === undefined ? undefined : decodeCursor(cursor));
    res.json(page(rows, limit, toEventView));
  });

  router.get('/v1/me/bookings', async (req, res) => {
    const userId = requireUser(await callerOf(deps, req));
    const { limit, cursor } = parseOrThrow(pageQuery, req.query, 'query');
    const rows = await listUserBookingsPage(deps.db, userId, limit + 1, cursor === undefined ? undefined : decodeCursor(cursor));
    res.json(page(rows, limit, toBookingView));
  });

  return router;
}
