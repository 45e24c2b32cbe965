import { findBookingById, toBookingView } from '@booking/db';
import { AppError, createBookingBody, idempotencyKey, isOpaqueId } from '@booking/domain';
import { cancelJobId } from '@booking/queue';
import { Router } from 'express';

import type { ApiDeps } from '../deps.ts';
import { submitBooking } from '../booking-submission.ts';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../middleware/problem.ts';
import { parseOrThrow, requireJson } from '../middleware/validate.ts';

/** Booking submission, booking reads and cancellation. */
export function bookingsRouter(deps: ApiDeps): Router {
  const router = Router();

  router.post('/v1/events/:eventId/bookings', requireJson, async (req, res) => {
    const started = performance.now();
    deps.metrics.attempts.inc();
    res.once('finish', () =>
      deps.metrics.submissionSeconds.observe({ status: String(res.statusCode) }, (performance.now() - started) / 1000),
    );
    const body = parseOrThrow(createBookingBody, req.body, 'booking request');
    const key = req.header('idempotency-key');
    if (key !== undefined) parseOrThrow(idempotencyKey, key, 'Idempotency-Key header', 'Idempotency-Key');
    await deps.rateLimiter.consume(body.userId).catch((err: unknown) => {
      if (err instanceof AppError) deps.metrics.admissionRejected.inc({ reason: err.code });
      throw err;
    });
    const { eventId } = req.params as { eventId: string };
    const event = isOpaqueId(eventId) ? await deps.events.get(eventId) : null;
    if (!event) throw new AppError('EVENT_NOT_FOUND', `no event ${eventId}`);

    const answer = await submitBooking(deps.submission, event, body, key, res.locals.requestId as string).catch(
      (err: unknown) => {
        if (err instanceof AppError && err.status === 409) deps.metrics.admissionRejected.inc({ reason: err.code });
        throw err;
      },
    );
    if (answer.status === 409) {
      deps.metrics.admissionRejected.inc({ reason: answer.error.code });
      throw answer.error;
    }
    (res.locals.log as Record<string, unknown>).jobId = answer.body.requestId;
    res.status(202).location(`/v1/booking-requests/${answer.body.requestId}`).json(answer.body);
  });

  router.get('/v1/bookings/:bookingId', async (req, res) => {
    const { bookingId } = req.params;
    const row = isOpaqueId(bookingId) ? await findBookingById(deps.db, bookingId) : undefined;
    if (!row) throw new AppError('BOOKING_NOT_FOUND', `no booking ${bookingId}`);
    res.json(toBookingView(row));
  });

  // The cancellation runs in the event's queue, like bookings, so seats come back exactly once and in
  // order; this handler waits for it to be applied.
  router.post('/v1/bookings/:bookingId/cancel', async (req, res) => {
    const { bookingId } = req.params;
    const row = isOpaqueId(bookingId) ? await findBookingById(deps.db, bookingId) : undefined;
    if (!row) throw new AppError('BOOKING_NOT_FOUND', `no booking ${bookingId}`);
    // Cancelled, and its seats are back at the gate: a booking submitted after this answer must be
    // able to take them.
    const done = async (status: string | undefined) =>
      status === 'cancelled' && (await deps.gate.seatsReturned(row.event_id, bookingId));
    if (await done(row.status)) {
      res.json(toBookingView(row));
      return;
    }
    const jobId = cancelJobId(bookingId);
    const deadline = Date.now() + deps.cancelWaitMs;
    const first = deps.hub.register(jobId, deps.cancelWaitMs);
    try {
      await deps.queues.enqueue(row.event_id, jobId, { kind: 'cancel', bookingId, eventId: row.event_id });
    } catch (err) {
      first.cancel();
      throw err;
    }
    let waiter = first;
    for (;;) {
      // Re-read after registering: the cancellation may have been applied before we subscribed.
      const current = await findBookingById(deps.db, bookingId);
      if (current && (await done(current.status))) {
        waiter.cancel();
        res.json(toBookingView(current));
        return;
      }
      const outcome = await waiter.result;
      if (outcome.kind === 'message' && outcome.message.type === 'cancellation') {
        res.json(outcome.message.booking);
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0 || outcome.kind === 'closing') break;
      waiter = deps.hub.register(jobId, left);
    }
    throw new AppError('UNAVAILABLE', 'the cancellation is queued but not applied yet; repeat the call', {
      retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
    });
  });

  return router;
}
