import { findBookingById, toBookingView } from '@booking/db';
import { AppError, isOpaqueId } from '@booking/domain';
import { cancelJobId } from '@booking/queue';
import { Router } from 'express';

import { callerOf, mayAccess } from '../auth/caller.ts';
import { bookingRequestLocation, postBooking } from '../booking-post.ts';
import type { ApiDeps } from '../deps.ts';
import { sendProblem } from '../middleware/problem.ts';
import { checkPathIds, requireJson } from '../middleware/validate.ts';
import { onClientGone } from './booking-requests.router.ts';
import { untilApplied } from './until-applied.ts';

/** Booking submission, booking reads and cancellation. */
export function bookingsRouter(deps: ApiDeps): Router {
  const router = Router();

  // Most submissions (plain JSON bodies) are served by the fast front before Express sees them
  // (booking.fast.ts); this route serves the rest, with the same postBooking.
  router.post('/v1/events/:eventId/bookings', requireJson, async (req, res) => {
    const started = performance.now();
    res.once('finish', () =>
      deps.metrics.submissionSeconds.observe({ status: String(res.statusCode) }, (performance.now() - started) / 1000),
    );
    checkPathIds(req.params);
    // Who asks comes first: without an identity nothing else about the request is told.
    const caller = deps.auth.mode === 'none' ? undefined : await callerOf(deps, req);
    const answer = await postBooking(deps, {
      eventId: (req.params as { eventId: string }).eventId,
      body: req.body,
      caller,
      clientAddress: req.ip,
      idempotencyKey: req.header('idempotency-key'),
      prefer: req.header('prefer'),
      correlationId: res.locals.correlationId as string,
      clientGone: () => onClientGone(res),
      onClose: (fn) => res.once('close', fn),
    });
    if (answer.status === 'gone') return;
    if (answer.status === 409) {
      // Sent here rather than thrown: a thrown error walks every router mounted after this one.
      sendProblem(res, answer.error);
      return;
    }
    (res.locals.log as Record<string, unknown>).requestId = answer.requestId;
    res.location(bookingRequestLocation(answer.requestId));
    if (answer.preferenceApplied) res.setHeader('Preference-Applied', answer.preferenceApplied);
    res.status(answer.status).json(answer.body);
  });

  router.get('/v1/bookings/:bookingId', async (req, res) => {
    checkPathIds(req.params);
    const { bookingId } = req.params;
    const caller = await callerOf(deps, req);
    const row = isOpaqueId(bookingId) ? await findBookingById(deps.db, bookingId) : undefined;
    // Someone else's booking answers as if it did not exist: the answer does not tell whether it does.
    if (!row || !mayAccess(deps.auth, caller, row.user_id)) throw new AppError('BOOKING_NOT_FOUND', `no booking ${bookingId}`);
    res.json(toBookingView(row));
  });

  // The cancellation runs in the event's queue, like bookings, so seats come back exactly once and in
  // order; this handler waits for it to be applied.
  router.post('/v1/bookings/:bookingId/cancel', async (req, res) => {
    checkPathIds(req.params);
    const { bookingId } = req.params;
    // In jwt mode this needs the bearer token, which no other site can make a browser send.
    const caller = await callerOf(deps, req);
    const row = isOpaqueId(bookingId) ? await findBookingById(deps.db, bookingId) : undefined;
    if (!row || !mayAccess(deps.auth, caller, row.user_id)) throw new AppError('BOOKING_NOT_FOUND', `no booking ${bookingId}`);
    // Cancelled, and its seats are back at the gate: a booking submitted after this answer must be
    // able to take them.
    const done = async (status: string | undefined) =>
      (status === 'cancelled' || status === 'expired') && (await deps.gate.seatsReturned(row.event_id, bookingId));
    if (await done(row.status)) {
      res.json(toBookingView(row));
      return;
    }
    const booking = await untilApplied(deps, {
      eventId: row.event_id,
      jobId: cancelJobId(bookingId),
      data: { kind: 'cancel', bookingId, eventId: row.event_id },
      applied: async () => {
        const current = await findBookingById(deps.db, bookingId);
        return current && (await done(current.status)) ? toBookingView(current) : undefined;
      },
      fromMessage: (m) => (m.type === 'cancellation' ? m.booking : undefined),
      what: 'the cancellation',
    });
    res.json(booking);
  });

  return router;
}
