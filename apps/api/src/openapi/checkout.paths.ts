import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

import { Booking, jsonResponse, problemResponse, retryAfterHeader } from './components.ts';
import { EXAMPLE_BOOKING_ID, EXAMPLE_EVENT_ID, EXAMPLE_USER_ID } from './examples.ts';

const bookingIdParams = z.object({
  bookingId: z.string().meta({ description: 'Booking id, from the confirmed request.', example: EXAMPLE_BOOKING_ID }),
});

/** Checkout of held bookings (events with `holdSeconds`). */
export function registerCheckoutPaths(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/bookings/{bookingId}/confirm',
    operationId: 'confirmBooking',
    tags: ['Bookings'],
    summary: 'Confirm a held booking (checkout)',
    description:
      'On an event with `holdSeconds`, a confirmed request creates a `held` booking that expires at `expiresAt`. ' +
      "The shop calls this once payment succeeded. It is decided in the event's order with the hold's expiry: " +
      'applied before `expiresAt` the booking is confirmed for good; after it the hold has expired and its ' +
      'seats are back on sale. Confirming a confirmed booking changes nothing and answers the same.',
    request: { params: bookingIdParams },
    responses: {
      200: jsonResponse('The confirmed booking.', Booking, {
        confirmed: {
          id: EXAMPLE_BOOKING_ID,
          eventId: EXAMPLE_EVENT_ID,
          userId: EXAMPLE_USER_ID,
          quantity: 2,
          status: 'confirmed',
          createdAt: '2030-03-02T10:00:00.000Z',
          expiresAt: '2030-03-02T10:15:00.000Z',
        },
      }),
      404: problemResponse('`BOOKING_NOT_FOUND`: no booking has this id.', ['BOOKING_NOT_FOUND']),
      409: problemResponse('`HOLD_EXPIRED`: the hold expired before the checkout; `BOOKING_CANCELLED`: the booking is cancelled.', [
        'HOLD_EXPIRED',
        'BOOKING_CANCELLED',
      ]),
      503: problemResponse(
        '`UNAVAILABLE`: a dependency is down, or the checkout is queued but not applied yet; repeat the call.',
        ['UNAVAILABLE'],
        { headers: retryAfterHeader },
      ),
    },
  });
}
