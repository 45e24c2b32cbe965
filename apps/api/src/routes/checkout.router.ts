import { findBookingById, toBookingView } from '@booking/db';
import { AppError, type BookingView, isOpaqueId } from '@booking/domain';
import { confirmJobId } from '@booking/queue';
import { type Response, Router } from 'express';

import { callerOf, mayAccess } from '../auth/caller.ts';
import type { ApiDeps } from '../deps.ts';
import { sendProblem } from '../middleware/problem.ts';
import { checkPathIds } from '../middleware/validate.ts';
import { untilApplied } from './until-applied.ts';

/** Answers a checkout with the booking's final state; false while it is still held. */
function answer(res: Response, booking: BookingView): boolean {
  switch (booking.status) {
    case 'held':
      return false;
    case 'confirmed':
      res.json(booking);
      return true;
    case 'expired':
      sendProblem(res, new AppError('HOLD_EXPIRED', `the hold of booking ${booking.id} expired at ${booking.expiresAt ?? 'its end'}`));
      return true;
    case 'cancelled':
      sendProblem(res, new AppError('BOOKING_CANCELLED', `booking ${booking.id} is cancelled`));
      return true;
  }
}

/** Checkout of held bookings (`POST /v1/bookings/:bookingId/confirm`). */
export function checkoutRouter(deps: ApiDeps): Router {
  const router = Router();

  // The checkout runs in the event's queue, like bookings and expiries, so a confirm and the hold's
  // expiry are decided in one order, in PostgreSQL; this handler waits for it to be applied. It is
  // queued at the front, where the worker applies it with the other checkouts waiting there.
  router.post('/v1/bookings/:bookingId/confirm', async (req, res) => {
    checkPathIds(req.params);
    const { bookingId } = req.params;
    // With identities this needs the bearer token (no other site can make a browser send it), and
    // someone else's booking answers as if it did not exist.
    const caller = await callerOf(deps, req);
    const row = isOpaqueId(bookingId) ? await findBookingById(deps.db, bookingId) : undefined;
    if (!row || !mayAccess(deps.auth, caller, row.user_id)) throw new AppError('BOOKING_NOT_FOUND', `no booking ${bookingId}`);
    if (answer(res, toBookingView(row))) return;
    const booking = await untilApplied(deps, {
      eventId: row.event_id,
      jobId: confirmJobId(bookingId),
      data: { kind: 'confirm', bookingId, eventId: row.event_id },
      applied: async () => {
        const current = await findBookingById(deps.db, bookingId);
        return current && current.status !== 'held' ? toBookingView(current) : undefined;
      },
      fromMessage: (m) => (m.type === 'confirmation' && m.booking.status !== 'held' ? m.booking : undefined),
      what: 'the checkout',
      front: true,
    });
    answer(res, booking);
  });

  return router;
}
