import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { idempotencyKey, waitQuery } from '@booking/domain';
import { z } from 'zod';

import {
  Booking,
  BookingAccepted,
  BookingRequest,
  CreateBookingRequest,
  jsonResponse,
  locationHeader,
  problemResponse,
  retryAfterHeader,
  unavailableResponse,
  USER_SECURITY,
  userUnauthorizedResponse,
} from './components.ts';
import { eventIdParams } from './events.paths.ts';
import { EXAMPLE_BOOKING_ID, EXAMPLE_REQUEST_ID, exampleAccepted, exampleBookings, exampleProblem, exampleRequests } from './examples.ts';

const requestIdParams = z.object({
  requestId: z.string().meta({ description: 'Booking request id, from the `202` answer.', example: EXAMPLE_REQUEST_ID }),
});
const bookingIdParams = z.object({
  bookingId: z.string().meta({ description: 'Booking id, from the confirmed request.', example: EXAMPLE_BOOKING_ID }),
});

const submissionHeaders = z.object({
  'Idempotency-Key': idempotencyKey.optional().meta({
    description:
      'Makes retries safe: the same key with the same body returns the original answer (same `requestId`); ' +
      'the same key with another body is `422 IDEMPOTENCY_KEY_REUSED`. 1..255 printable characters.',
    example: '3f0c9a52-8d4e-4b6a-9a53-2f7a1c1e9b10',
  }),
  Prefer: z
    .string()
    .optional()
    .meta({
      description:
        'Submit and wait in one round trip (RFC 7240): `wait=N` (N 1..30 seconds; more is taken as 30). If the ' +
        'request is decided within N seconds the answer is `200` with the booking request, as ' +
        '`GET /v1/booking-requests/{requestId}` gives it, and `Preference-Applied: wait=N`; otherwise `202` as ' +
        'without the header. Other preferences are ignored.',
      example: 'wait=10',
    }),
});

// `wait` is coerced from the query string, and the generator would call it nullable (`Number(null)` is
// 0); its JSON schema is spelled out here from the validator's own bounds instead.
const wait = waitQuery.shape.wait;
const waitParams = waitQuery.extend({
  wait: wait.meta({
    description: 'Long-poll: seconds to wait for the decision before answering `pending`.',
    type: 'integer',
    minimum: wait.unwrap().minValue ?? undefined,
    maximum: wait.unwrap().maxValue ?? undefined,
    default: wait.def.defaultValue,
    example: 10,
  }),
});

/** Booking submission, request status (long-poll), booking reads and cancellation. */
export function registerBookingPaths(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/events/{eventId}/bookings',
    operationId: 'submitBookingRequest',
    security: USER_SECURITY,
    tags: ['Bookings'],
    summary: 'Ask for seats',
    description:
      "Accepts a booking request at once (`202`, `pending`); the event's worker decides requests one at a " +
      'time in the order they were accepted. Follow `Location` (with `?wait=`) for the decision, or send ' +
      '`Prefer: wait=N` to get the decision in this answer (`200`) when it comes within N seconds.',
    request: {
      params: eventIdParams,
      headers: submissionHeaders,
      body: {
        required: true,
        content: {
          'application/json': {
            schema: CreateBookingRequest,
            examples: { twoSeats: { summary: 'Two seats', value: { userId: 'user-4711', quantity: 2 } } },
          },
        },
      },
    },
    responses: {
      200: jsonResponse(
        'With `Prefer: wait=N`: decided within N seconds; the booking request, confirmed (with `bookingId`) or rejected (with `reason`).',
        BookingRequest,
        { confirmed: exampleRequests.confirmed, rejected: exampleRequests.rejected },
        z.object({
          Location: z.string().meta({ description: 'The booking request.', example: `/v1/booking-requests/${EXAMPLE_REQUEST_ID}` }),
          'Preference-Applied': z.string().meta({ description: 'The wait that was honoured.', example: 'wait=10' }),
        }),
      ),
      202: jsonResponse(
        'Accepted and queued; `position` counts the requests ahead of it.',
        BookingAccepted,
        { accepted: exampleAccepted },
        locationHeader('The booking request, to poll for the decision.', `/v1/booking-requests/${EXAMPLE_REQUEST_ID}`),
      ),
      400: problemResponse('`VALIDATION_FAILED`: invalid body or `Idempotency-Key`; `errors` names each field.', ['VALIDATION_FAILED']),
      401: userUnauthorizedResponse(),
      403: problemResponse("`FORBIDDEN` (`AUTH_MODE` jwt or header): the body's `userId` differs from the identity.", ['FORBIDDEN']),
      404: problemResponse('`EVENT_NOT_FOUND`: no event has this id.', ['EVENT_NOT_FOUND']),
      409: problemResponse(
        '`SOLD_OUT` (a final answer: nothing is queued), or `SALES_NOT_OPEN` / `SALES_CLOSED` outside the sales window.',
        ['SOLD_OUT', 'SALES_NOT_OPEN', 'SALES_CLOSED'],
      ),
      413: problemResponse('`PAYLOAD_TOO_LARGE`: the body is over the size limit.', ['PAYLOAD_TOO_LARGE']),
      415: problemResponse('`UNSUPPORTED_MEDIA_TYPE`: the body is not sent as JSON.', ['UNSUPPORTED_MEDIA_TYPE']),
      422: problemResponse('`IDEMPOTENCY_KEY_REUSED`: this key was sent before with a different body.', ['IDEMPOTENCY_KEY_REUSED']),
      429: problemResponse(
        '`RATE_LIMITED`: this user, or this client address, sent too many requests; retry after `Retry-After` seconds.',
        ['RATE_LIMITED'],
        {
          headers: retryAfterHeader,
        },
      ),
      503: unavailableResponse,
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/booking-requests/{requestId}',
    operationId: 'getBookingRequest',
    security: USER_SECURITY,
    tags: ['Bookings'],
    summary: 'Read a booking request (long-poll with ?wait)',
    description:
      'With `wait`, answers as soon as the request is decided, or after `wait` seconds with `pending`. ' +
      'A decided request never changes.',
    request: { params: requestIdParams, query: waitParams },
    responses: {
      200: jsonResponse('The request: pending, confirmed (with `bookingId`) or rejected (with `reason`).', BookingRequest, exampleRequests),
      400: problemResponse('`VALIDATION_FAILED`: `wait` is not an integer from 0 to 30.', ['VALIDATION_FAILED'], {
        examples: {
          VALIDATION_FAILED: exampleProblem('VALIDATION_FAILED', 'the query is invalid', [
            { field: 'wait', message: 'Too big: expected number to be <=30' },
          ]),
        },
      }),
      401: userUnauthorizedResponse(),
      404: problemResponse("`REQUEST_NOT_FOUND`: no booking request has this id (or, with identities, none of the caller's).", [
        'REQUEST_NOT_FOUND',
      ]),
      503: problemResponse(
        '`UNAVAILABLE`: a dependency is down, or too many long-polls wait (per user or per process); retry after `Retry-After` seconds.',
        ['UNAVAILABLE'],
        { headers: retryAfterHeader },
      ),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/bookings/{bookingId}',
    operationId: 'getBooking',
    security: USER_SECURITY,
    tags: ['Bookings'],
    summary: 'Read a booking',
    request: { params: bookingIdParams },
    responses: {
      200: jsonResponse('The booking.', Booking, exampleBookings),
      401: userUnauthorizedResponse(),
      404: problemResponse("`BOOKING_NOT_FOUND`: no booking has this id (or, with identities, none of the caller's).", [
        'BOOKING_NOT_FOUND',
      ]),
      503: unavailableResponse,
    },
  });

  registry.registerPath({
    method: 'post',
    path: '/v1/bookings/{bookingId}/cancel',
    operationId: 'cancelBooking',
    security: USER_SECURITY,
    tags: ['Bookings'],
    summary: 'Cancel a booking',
    description:
      'Returns the seats to the event, through the same per-event order as bookings, and answers once that is ' +
      'done. Cancelling a cancelled booking changes nothing and answers the same.',
    request: { params: bookingIdParams },
    responses: {
      200: jsonResponse('The cancelled booking.', Booking, { cancelled: exampleBookings.cancelled }),
      401: userUnauthorizedResponse('no identity; with jwt the bearer token is required, which no other site can make a browser send'),
      404: problemResponse("`BOOKING_NOT_FOUND`: no booking has this id (or, with identities, none of the caller's).", [
        'BOOKING_NOT_FOUND',
      ]),
      503: problemResponse(
        '`UNAVAILABLE`: a dependency is down, or the cancellation is queued but not applied yet; repeat the call.',
        ['UNAVAILABLE'],
        { headers: retryAfterHeader },
      ),
    },
  });
}
