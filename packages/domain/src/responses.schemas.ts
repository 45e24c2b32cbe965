import { z } from 'zod';

import type { BookingRequestView, BookingView, EventView, RejectionReason } from './booking.types.ts';
import { ERROR_STATUS, type ErrorCode, type FieldProblem } from './errors.ts';

// Response bodies as zod schemas: the OpenAPI document is generated from them, and tests check real
// answers and the document's examples against them. The interfaces in booking.types.ts stay the types
// the code uses; the assertions at the bottom keep both in step.

/** An instant as the API writes it: ISO-8601 in UTC (`Date#toISOString`). */
const instant = z.iso.datetime();

const opaqueId = z.string().min(1);

export const rejectionReason = z
  .enum(['SOLD_OUT', 'USER_LIMIT_EXCEEDED', 'SALES_CLOSED', 'INVALID_REQUEST', 'WITHDRAWN'])
  .describe('Why the request was rejected (only when `status` is `rejected`).');

/** `200`/`201` body of the event routes. */
export const eventView = z.object({
  id: opaqueId.describe('Opaque event id.'),
  name: z.string().describe('Display name.'),
  capacity: z.int().min(1).describe('Seats the event has in total.'),
  available: z.int().min(0).describe('Seats not taken by held or confirmed bookings.'),
  maxPerUser: z.int().min(1).nullable().describe('Seats one user may hold for the event; null for no limit.'),
  salesStartAt: instant.nullable().describe('When sales open; null for open from creation.'),
  salesEndAt: instant.nullable().describe('When sales close; null for no end.'),
  createdAt: instant,
  holdSeconds: z
    .int()
    .min(5)
    .max(604800)
    .optional()
    .describe('Seconds a booking is held for checkout (`POST /v1/bookings/{id}/confirm`); absent: bookings are final at once.'),
  waitlistLimit: z
    .int()
    .min(1)
    .max(100000)
    .optional()
    .describe('Most entries the waiting list takes (requests sent with `"waitlist": true`); absent: no waiting list.'),
});

/** `202` body of `POST /v1/events/:eventId/bookings`. */
export const bookingAccepted = z.object({
  requestId: opaqueId.describe('Id of the booking request; poll it at `Location`.'),
  status: z.literal('pending'),
  eventId: opaqueId,
  userId: z.string(),
  quantity: z.int().min(1).max(10),
  position: z.int().min(0).optional().describe("Requests ahead of this one in the event's queue when it was accepted."),
});

/** `200` body of `GET /v1/booking-requests/:requestId`. */
export const bookingRequestView = z.object({
  requestId: opaqueId,
  eventId: opaqueId,
  userId: z.string(),
  quantity: z.int().min(1).max(10),
  status: z
    .enum(['pending', 'confirmed', 'rejected', 'waitlisted'])
    .describe("`pending` until the event's worker decides; `waitlisted` on the waiting list until promoted or withdrawn; otherwise final."),
  reason: rejectionReason.optional(),
  bookingId: opaqueId.optional().describe('The booking created (only when `status` is `confirmed`).'),
  acceptedAt: instant,
  decidedAt: instant.optional(),
  position: z.int().min(0).optional().describe("While pending: requests ahead of this one in the event's queue."),
  estimatedWaitMs: z.int().min(0).optional().describe('While pending: estimated time until decided, from recent decisions.'),
  waitlistPosition: z.int().min(1).optional().describe('While waitlisted: its place on the waiting list (1 = next).'),
});

/** `200` body of the booking routes. */
export const bookingView = z.object({
  id: opaqueId,
  eventId: opaqueId,
  userId: z.string(),
  quantity: z.int().min(1).max(10),
  status: z
    .enum(['held', 'confirmed', 'cancelled', 'expired'])
    .describe('`held`: awaits checkout until `expiresAt`, then `confirmed` or `expired`; `cancelled` returned its seats.'),
  createdAt: instant,
  cancelledAt: instant.optional(),
  expiresAt: instant.optional().describe('Until when a held booking awaits checkout (events with `holdSeconds`).'),
});

/** Every problem code the contract names. */
export const errorCode = z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]);

export const fieldProblem = z.object({
  field: z.string().describe('The field with the problem: a dotted path, or `(body)`, `(path)`, a header name.'),
  message: z.string(),
});

/** An `application/problem+json` error answer (RFC 9457) with the contract's `code`. */
export const problemDetails = z
  .object({
    type: z.string().min(1).describe('URI naming the problem type.'),
    title: z.string().min(1).describe('Short summary of the problem type.'),
    status: z.int().min(400).max(599).describe('The HTTP status code.'),
    detail: z.string().describe('What went wrong with this request.'),
    code: errorCode,
    errors: z.array(fieldProblem).optional().describe('Field problems, for `VALIDATION_FAILED`.'),
  })
  .refine((p) => ERROR_STATUS[p.code] === p.status, { path: ['status'], message: 'must be the status of `code`' });

// Compile-time checks that the schemas describe exactly the types the code produces.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** zod infers an optional field as `x?: T | undefined`; the views leave it out instead (exactOptionalPropertyTypes). */
type Inferred<S extends z.ZodType> = { [K in keyof z.infer<S>]: Exclude<z.infer<S>[K], undefined> };
const sameShapes: [
  Same<Inferred<typeof eventView>, EventView>,
  Same<Inferred<typeof bookingRequestView>, BookingRequestView>,
  Same<Inferred<typeof bookingView>, BookingView>,
  Same<z.infer<typeof rejectionReason>, RejectionReason>,
  Same<z.infer<typeof errorCode>, ErrorCode>,
  Same<z.infer<typeof fieldProblem>, FieldProblem>,
] = [true, true, true, true, true, true];
void sameShapes;
