import type { BookingRequestView, BookingView } from '@booking/domain';
import { z } from 'zod';

/** Payload of a booking job; the job id is the request id. */
export const bookJobData = z.object({
  kind: z.literal('book'),
  requestId: z.string().min(1),
  eventId: z.string().min(1),
  userId: z.string().min(1).max(128),
  quantity: z.int().min(1).max(10),
  acceptedAt: z.iso.datetime({ offset: true }),
  /** False when the admission gate was missing at admission: Redis may have lost earlier requests. */
  gated: z.boolean().default(true),
  /** X-Request-Id of the submission, so the worker's log line joins the API's. */
  correlationId: z.string().max(200).optional(),
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
  | { type: 'decision'; request: BookingRequestView }
  | { type: 'cancellation'; booking: BookingView };

/** The waiter key a message wakes: the request id, or the cancellation job id. */
export function messageKey(message: DecisionMessage): string {
  return message.type === 'decision' ? message.request.requestId : cancelJobId(message.booking.id);
}
