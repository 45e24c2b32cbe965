import {
  AppError,
  type CreateBookingBody,
  createBookingBody,
  idempotencyKey,
  identifiedBookingBody,
  isOpaqueId,
  pathParams,
} from '@booking/domain';

import type { Caller } from './auth/authenticator.ts';
import { bookingUser } from './auth/caller.ts';
import { submitBooking } from './booking-submission.ts';
import type { Registration } from './decision-wait.ts';
import type { ApiDeps } from './deps.ts';
import { preferredWait } from './middleware/prefer.ts';
import { parseOrThrow } from './middleware/validate.ts';

/** What `POST /v1/events/:eventId/bookings` needs of the HTTP request, whoever parsed it. */
export interface BookingPost {
  eventId: string;
  /** The body, parsed from JSON. */
  body: unknown;
  /** Who asks (AUTH_MODE jwt or header); undefined in `none` mode, where the body's userId is the user. */
  caller: Caller | undefined;
  /** The client's address (per-address rate limit). */
  clientAddress: string | undefined;
  idempotencyKey: string | undefined;
  prefer: string | undefined;
  /** The request's correlation id (`X-Request-Id`). */
  correlationId: string;
  /** Resolves when the client's connection closes before the answer is sent. */
  clientGone: () => Promise<void>;
  /** Runs `fn` when the connection closes (answered or not). */
  onClose: (fn: () => void) => void;
}

/** A submission's body where the user is the caller's identity (`AUTH_MODE` jwt or header). */
function identifiedBody(deps: ApiDeps, caller: Caller, raw: unknown): CreateBookingBody {
  const parsed = parseOrThrow(identifiedBookingBody, raw, 'booking request');
  const userId = bookingUser(deps.auth, caller, parsed.userId);
  return { quantity: parsed.quantity, userId, ...(parsed.waitlist !== undefined ? { waitlist: parsed.waitlist } : {}) };
}

/** The answer to send: a booking request (`202`, or `200` decided within `Prefer: wait`), or a `409` at the door. */
export type BookingPostAnswer =
  | { status: 202 | 200; body: unknown; requestId: string; preferenceApplied?: string }
  | { status: 409; error: AppError }
  /** The client left while its `Prefer: wait` was waiting: nothing to send. */
  | { status: 'gone' };

/**
 * The booking submission, as both ways in serve it: the Express route and the fast front (which
 * reads plain JSON bodies without Express). Throws AppError for the answers the contract lists
 * (400, 404, 429, 503) and anything else unexpected; the caller turns those into problem+json.
 */
export async function postBooking(deps: ApiDeps, input: BookingPost): Promise<BookingPostAnswer> {
  deps.metrics.attempts.inc();
  parseOrThrow(pathParams, { eventId: input.eventId }, 'path', '(path)');
  const { caller } = input;
  const body = caller ? identifiedBody(deps, caller, input.body) : parseOrThrow(createBookingBody, input.body, 'booking request');
  const key = input.idempotencyKey;
  if (key !== undefined) parseOrThrow(idempotencyKey, key, 'Idempotency-Key header', 'Idempotency-Key');
  let waitSeconds = preferredWait(input.prefer);
  const { eventId } = input;
  const event = isOpaqueId(eventId) ? await deps.events.get(eventId) : null;
  if (!event) throw new AppError('EVENT_NOT_FOUND', `no event ${eventId}`);
  // Over the long-poll bound the submission is still taken, only answered without waiting (`202`).
  const releaseWait = waitSeconds ? deps.longPolls.tryAcquire(caller ? body.userId : undefined) : undefined;
  if (!releaseWait) waitSeconds = undefined;
  else input.onClose(releaseWait);

  // With `Prefer: wait`, register for the decision before the request is queued: it cannot be missed.
  let registered: Registration | undefined;
  const deadline = Date.now() + (waitSeconds ?? 0) * 1000;
  // Either way this process notes the request as pending: its client's long-poll needs no read.
  const beforeQueued = (requestId: string) => {
    if (waitSeconds) registered = deps.decisions.register(requestId, deadline);
    return deps.hub.expect(requestId);
  };
  const answer = await submitBooking(deps.submission, event, body, key, input.correlationId, beforeQueued, input.clientAddress).catch(
    (err: unknown) => {
      registered?.cancel();
      if (err instanceof AppError && (err.status === 409 || err.status === 429)) deps.metrics.admissionRejected.inc({ reason: err.code });
      throw err;
    },
  );
  if (answer.status === 409) {
    deps.metrics.admissionRejected.inc({ reason: answer.error.code });
    registered?.cancel();
    return answer;
  }
  const { requestId } = answer.body;
  if (waitSeconds) {
    const view = await deps.decisions.until(event.id, requestId, deadline, input.clientGone(), registered);
    if (view === 'gone') return { status: 'gone' };
    if (view && view.status !== 'pending') return { status: 200, body: view, requestId, preferenceApplied: `wait=${waitSeconds}` };
  }
  return { status: 202, body: answer.body, requestId };
}

/** Where a booking request is read: the `Location` of a submission's answer. */
export function bookingRequestLocation(requestId: string): string {
  return `/v1/booking-requests/${requestId}`;
}
