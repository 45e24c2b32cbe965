import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

import { BookingRequest, jsonResponse, problemResponse, retryAfterHeader } from './components.ts';
import { EXAMPLE_REQUEST_ID, exampleRequests } from './examples.ts';

const requestIdParams = z.object({
  requestId: z.string().meta({ description: 'Booking request id, from the `202` answer.', example: EXAMPLE_REQUEST_ID }),
});

/** Leaving the waiting list (events with `waitlistLimit`). */
export function registerWaitlistPaths(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/booking-requests/{requestId}/withdraw',
    operationId: 'withdrawBookingRequest',
    tags: ['Bookings'],
    summary: 'Leave the waiting list',
    description:
      'A request sent with `"waitlist": true` that would have been rejected `SOLD_OUT` waits on the event\'s list ' +
      '(`waitlisted`, with `waitlistPosition`) until seats come back. This takes it off the list: it becomes ' +
      "`rejected` with reason `WITHDRAWN`, decided in the event's order with the promotions. Withdrawing again " +
      'answers the same.',
    request: { params: requestIdParams },
    responses: {
      200: jsonResponse('The withdrawn request.', BookingRequest, {
        withdrawn: { ...exampleRequests.rejected, reason: 'WITHDRAWN' },
      }),
      404: problemResponse('`REQUEST_NOT_FOUND`: no booking request has this id.', ['REQUEST_NOT_FOUND']),
      409: problemResponse('`NOT_WAITLISTED`: the request is pending, confirmed or rejected, not on the waiting list.', ['NOT_WAITLISTED']),
      503: problemResponse(
        '`UNAVAILABLE`: a dependency is down, or the withdrawal is queued but not applied yet; repeat the call.',
        ['UNAVAILABLE'],
        {
          headers: retryAfterHeader,
        },
      ),
    },
  });
}
