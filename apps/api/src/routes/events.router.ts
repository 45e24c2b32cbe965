import { findEventById, insertEvent, toEventView } from '@booking/db';
import { AppError, createEventBody, isOpaqueId, newEventId } from '@booking/domain';
import { Router } from 'express';

import type { ApiDeps } from '../deps.ts';
import { requireAdmin } from '../middleware/admin-auth.ts';
import { checkPathIds, parseOrThrow, requireJson } from '../middleware/validate.ts';

/** `POST /v1/events` (admin) and `GET /v1/events/:eventId`. */
export function eventsRouter(deps: ApiDeps): Router {
  const router = Router();

  router.post('/v1/events', requireAdmin(deps.adminKey, { throttle: deps.adminThrottle }), requireJson, async (req, res) => {
    const body = parseOrThrow(createEventBody, req.body, 'event');
    const row = await insertEvent(deps.db, { id: newEventId(), ...body });
    deps.events.remember(row);
    await deps.gate.open(row.id, row.capacity).catch((err: Error) =>
      deps.logger.warn('could not open the admission gate; the worker will build it', {
        eventId: row.id,
        error: err.message,
      }),
    );
    deps.logger.info('event created', { eventId: row.id, capacity: row.capacity });
    res.status(201).location(`/v1/events/${row.id}`).json(toEventView(row));
  });

  router.get('/v1/events/:eventId', async (req, res) => {
    checkPathIds(req.params);
    const { eventId } = req.params;
    const row = isOpaqueId(eventId) ? await findEventById(deps.db, eventId) : undefined;
    if (!row) throw new AppError('EVENT_NOT_FOUND', `no event ${eventId}`);
    res.json(toEventView(row));
  });

  return router;
}
