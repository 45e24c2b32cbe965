import type { BookingRequestView, BookingView } from '@booking/domain';
import { z } from 'zod';

/** Upper bound on the requests one booking job carries. */
export const MAX_REQUESTS_PER_JOB = 500;

/** One booking request inside a booking job. */
export const bookingRequestData = z.object({
  requestId: z.string().min(1),
  userId: z.string().min(1).max(128),
  quantity: z.int().min(1).max(10),
  acceptedAt: z.iso.datetime({ offset: true }),
  /** False when the admission gate was missing at admission: Redis may have lost earlier requests. */
  gated: z.boolean().default(true),
  /** X-Request-Id of the submission, so the worker's log line joins the API's. */
  correlationId: z.string().max(200).optional(),
  /** SHA-256 (hex) of the submission's Idempotency-Key, recorded with the decision. */
  idempotencyKey: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** Join the event's waiting list rather than be rejected SOLD_OUT. */
  waitlist: z.boolean().optional(),
});
export type BookingRequestData = z.infer<typeof bookingRequestData>;

/**
 * Payload of a booking job: the requests one API process accepted for the event while its previous
 * job was being added (one at a time when traffic is light, many at a sale's peak), in order.
 */
export const bookJobData = z.object({
  kind: z.literal('book'),
  eventId: z.string().min(1),
  requests: z.array(bookingRequestData).min(1).max(MAX_REQUESTS_PER_JOB),
});
export type BookJobData = z.infer<typeof bookJobData>;

/** Payload of a cancellation job; it runs in the event's queue so seats come back in order. */
export const cancelJobData = z.object({
  kind: z.literal('cancel'),
  bookingId: z.string().min(1),
  eventId: z.string().min(1),
});
export type CancelJobData = z.infer<typeof cancelJobData>;

/** Asks the event's worker to recover requests Redis lost and rebuild the gate, in queue order. */
export const recoverJobData = z.object({
  kind: z.literal('recover'),
  eventId: z.string().min(1),
});
export type RecoverJobData = z.infer<typeof recoverJobData>;

/** Job id of an event's recovery: one pending at a time. */
export function recoverJobId(eventId: string): string {
  return `recover.${eventId}`;
}

/** Payload of a checkout: confirms a held booking in the event's queue, in order with its expiry. */
export const confirmJobData = z.object({
  kind: z.literal('confirm'),
  bookingId: z.string().min(1),
  eventId: z.string().min(1),
});
export type ConfirmJobData = z.infer<typeof confirmJobData>;

/** Job id of the checkout of a booking: one pending checkout per booking. */
export function confirmJobId(bookingId: string): string {
  return `confirm.${bookingId}`;
}

/** Asks the event's worker to expire the event's holds that are due, in queue order. */
export const expireJobData = z.object({
  kind: z.literal('expire'),
  eventId: z.string().min(1),
});
export type ExpireJobData = z.infer<typeof expireJobData>;

/** Job id of an event's expiry round: one pending at a time. */
export function expireJobId(eventId: string): string {
  return `expire.${eventId}`;
}

/** Payload of a withdrawal from the waiting list, in the event's queue like its promotions. */
export const withdrawJobData = z.object({
  kind: z.literal('withdraw'),
  requestId: z.string().min(1),
  eventId: z.string().min(1),
});
export type WithdrawJobData = z.infer<typeof withdrawJobData>;

/** Job id of the withdrawal of a request: one pending per request. */
export function withdrawJobId(requestId: string): string {
  return `withdraw.${requestId}`;
}

export const jobData = z.discriminatedUnion('kind', [
  bookJobData,
  cancelJobData,
  recoverJobData,
  confirmJobData,
  expireJobData,
  withdrawJobData,
]);
export type JobData = z.infer<typeof jobData>;

/** Job id of the cancellation of a booking: one pending cancellation per booking. */
export function cancelJobId(bookingId: string): string {
  return `cancel.${bookingId}`;
}

/** What a worker publishes after a decision is durable. */
export type DecisionMessage =
  | { type: 'decisions'; requests: BookingRequestView[] }
  | { type: 'cancellation'; booking: BookingView }
  | { type: 'confirmation'; booking: BookingView }
  /** A withdrawal was applied (or found nothing on the list): the API reads the outcome from PostgreSQL. */
  | { type: 'withdrawal'; requestId: string };

/** What each message settles: waiter key (request id, or cancellation job id) and its payload. */
export function messageEntries(message: DecisionMessage): Array<[string, DecisionMessage]> {
  if (message.type === 'cancellation') return [[cancelJobId(message.booking.id), message]];
  if (message.type === 'confirmation') return [[confirmJobId(message.booking.id), message]];
  if (message.type === 'withdrawal') return [[withdrawJobId(message.requestId), message]];
  return message.requests.map((request) => [request.requestId, { type: 'decisions', requests: [request] }]);
}
