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

export const jobData = z.discriminatedUnion('kind', [bookJobData, cancelJobData, recoverJobData]);
export type JobData = z.infer<typeof jobData>;

/** Job id of the cancellation of a booking: one pending cancellation per booking. */
export function cancelJobId(bookingId: string): string {
  return `cancel.${bookingId}`;
}

/** What a worker publishes after a decision is durable. */
export type DecisionMessage =
  | { type: 'decisions'; requests: BookingRequestView[] }
  | { type: 'cancellation'; booking: BookingView };

/** What each message settles: waiter key (request id, or cancellation job id) and its payload. */
export function messageEntries(message: DecisionMessage): Array<[string, DecisionMessage]> {
  if (message.type === 'cancellation') return [[cancelJobId(message.booking.id), message]];
  return message.requests.map((request) => [request.requestId, { type: 'decisions', requests: [request] }]);
}
