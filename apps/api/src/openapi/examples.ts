import { ERROR_STATUS, ERROR_TITLE, type ErrorCode, type FieldProblem } from '@booking/domain';

// Example values shown in the OpenAPI document. Tests check each one against its zod schema.

export const EXAMPLE_EVENT_ID = 'Xk2f9QvLr0aB7cD1eF3gHw';
export const EXAMPLE_REQUEST_ID = `${EXAMPLE_EVENT_ID}.q7RtY2uWc9Zb4Nn1Lp0sKa`;
export const EXAMPLE_BOOKING_ID = 'b5Hj8Kd2Ms6Tq1Vx3Yz7Ag';
export const EXAMPLE_USER_ID = 'user-4711';

export const exampleEvent = {
  id: EXAMPLE_EVENT_ID,
  name: 'Spring concert',
  capacity: 500,
  available: 412,
  maxPerUser: 4,
  salesStartAt: '2030-03-01T09:00:00.000Z',
  salesEndAt: '2030-03-20T18:00:00.000Z',
  createdAt: '2030-02-01T12:00:00.000Z',
};

export const exampleAccepted = {
  requestId: EXAMPLE_REQUEST_ID,
  status: 'pending' as const,
  eventId: EXAMPLE_EVENT_ID,
  userId: EXAMPLE_USER_ID,
  quantity: 2,
  position: 17,
};

const acceptedAt = '2030-03-01T09:00:01.250Z';
const decidedAt = '2030-03-01T09:00:01.420Z';

export const exampleRequests = {
  pending: {
    requestId: EXAMPLE_REQUEST_ID,
    eventId: EXAMPLE_EVENT_ID,
    userId: EXAMPLE_USER_ID,
    quantity: 2,
    status: 'pending' as const,
    acceptedAt,
    position: 5,
    estimatedWaitMs: 60,
  },
  confirmed: {
    requestId: EXAMPLE_REQUEST_ID,
    eventId: EXAMPLE_EVENT_ID,
    userId: EXAMPLE_USER_ID,
    quantity: 2,
    status: 'confirmed' as const,
    bookingId: EXAMPLE_BOOKING_ID,
    acceptedAt,
    decidedAt,
  },
  rejected: {
    requestId: EXAMPLE_REQUEST_ID,
    eventId: EXAMPLE_EVENT_ID,
    userId: EXAMPLE_USER_ID,
    quantity: 2,
    status: 'rejected' as const,
    reason: 'SOLD_OUT' as const,
    acceptedAt,
    decidedAt,
  },
  waitlisted: {
    requestId: EXAMPLE_REQUEST_ID,
    eventId: EXAMPLE_EVENT_ID,
    userId: EXAMPLE_USER_ID,
    quantity: 2,
    status: 'waitlisted' as const,
    acceptedAt,
    decidedAt,
    waitlistPosition: 3,
  },
};

export const exampleBookings = {
  confirmed: {
    id: EXAMPLE_BOOKING_ID,
    eventId: EXAMPLE_EVENT_ID,
    userId: EXAMPLE_USER_ID,
    quantity: 2,
    status: 'confirmed' as const,
    createdAt: decidedAt,
  },
  held: {
    id: EXAMPLE_BOOKING_ID,
    eventId: EXAMPLE_EVENT_ID,
    userId: EXAMPLE_USER_ID,
    quantity: 2,
    status: 'held' as const,
    createdAt: decidedAt,
    expiresAt: '2030-03-02T10:15:00.000Z',
  },
  cancelled: {
    id: EXAMPLE_BOOKING_ID,
    eventId: EXAMPLE_EVENT_ID,
    userId: EXAMPLE_USER_ID,
    quantity: 2,
    status: 'cancelled' as const,
    createdAt: decidedAt,
    cancelledAt: '2030-03-02T10:15:00.000Z',
  },
};

/** What the problem handler writes for `code` (its `type` URI is built the same way). */
export function exampleProblem(code: ErrorCode, detail: string, errors?: FieldProblem[]) {
  return {
    type: `urn:problem-type:booking:${code.toLowerCase().replaceAll('_', '-')}`,
    title: ERROR_TITLE[code],
    status: ERROR_STATUS[code],
    detail,
    code,
    ...(errors ? { errors } : {}),
  };
}

/** One example answer per problem code, as the API phrases it. */
export const problemExamples: Record<ErrorCode, ReturnType<typeof exampleProblem>> = {
  VALIDATION_FAILED: exampleProblem('VALIDATION_FAILED', 'the booking request is invalid', [
    { field: 'quantity', message: 'Too big: expected number to be <=10' },
  ]),
  UNAUTHORIZED: exampleProblem('UNAUTHORIZED', 'a valid admin bearer token is required'),
  FORBIDDEN: exampleProblem('FORBIDDEN', 'userId differs from the identity of the request'),
  EVENT_NOT_FOUND: exampleProblem('EVENT_NOT_FOUND', `no event ${EXAMPLE_EVENT_ID}`),
  REQUEST_NOT_FOUND: exampleProblem('REQUEST_NOT_FOUND', `no booking request ${EXAMPLE_REQUEST_ID}`),
  BOOKING_NOT_FOUND: exampleProblem('BOOKING_NOT_FOUND', `no booking ${EXAMPLE_BOOKING_ID}`),
  NOT_FOUND: exampleProblem('NOT_FOUND', 'no route for GET /v1/nothing'),
  SOLD_OUT: exampleProblem('SOLD_OUT', 'not enough seats are left for this request'),
  SALES_NOT_OPEN: exampleProblem('SALES_NOT_OPEN', 'sales open at 2030-03-01T09:00:00.000Z'),
  SALES_CLOSED: exampleProblem('SALES_CLOSED', 'sales closed at 2030-03-20T18:00:00.000Z'),
  HOLD_EXPIRED: exampleProblem('HOLD_EXPIRED', `the hold of booking ${EXAMPLE_BOOKING_ID} expired at 2030-03-02T10:15:00.000Z`),
  BOOKING_CANCELLED: exampleProblem('BOOKING_CANCELLED', `booking ${EXAMPLE_BOOKING_ID} is cancelled`),
  NOT_WAITLISTED: exampleProblem('NOT_WAITLISTED', `booking request ${EXAMPLE_REQUEST_ID} is confirmed, not waitlisted`),
  PAYLOAD_TOO_LARGE: exampleProblem('PAYLOAD_TOO_LARGE', 'the request body is larger than the limit'),
  UNSUPPORTED_MEDIA_TYPE: exampleProblem('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'),
  IDEMPOTENCY_KEY_REUSED: exampleProblem('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different body'),
  RATE_LIMITED: exampleProblem('RATE_LIMITED', 'at most 20 booking requests per 10 s per user'),
  INTERNAL: exampleProblem('INTERNAL', 'an unexpected error occurred'),
  UNAVAILABLE: exampleProblem('UNAVAILABLE', 'a dependency is unavailable; try again shortly'),
};

export const exampleMetrics = [
  '# HELP http_request_duration_seconds HTTP request duration by route and status',
  '# TYPE http_request_duration_seconds histogram',
  'http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/events/:eventId/bookings",status="202"} 1520',
  '',
].join('\n');
