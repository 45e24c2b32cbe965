import { z } from 'zod';

const isoDateTime = z.iso.datetime({ offset: true });

/** The most seats an event may have (the `events.capacity` CHECK). */
export const MAX_CAPACITY = 1_000_000;

// PostgreSQL stores neither U+0000 (text and jsonb refuse it) nor unpaired UTF-16 surrogates (jsonb
// refuses them, text would store U+FFFD instead of what was sent). Matched on UTF-16 code units.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A string PostgreSQL can store as it is: every text field the API accepts is one, so a value the
 * database would refuse is a 400 at the door rather than a request that can never be decided.
 */
export function storableString() {
  return z
    .string()
    .refine((s) => !s.includes('\u0000'), 'must not contain the NUL character (U+0000)')
    .refine((s) => !LONE_SURROGATE.test(s), 'must not contain unpaired surrogates (it is not valid Unicode text)');
}

/** Bounds of an event's `holdSeconds` (the `events.hold_seconds` CHECK): 5 s to 7 days. */
export const MIN_HOLD_SECONDS = 5;
export const MAX_HOLD_SECONDS = 604_800;
/** The most entries an event's waiting list may take (the `events.waitlist_limit` CHECK). */
export const MAX_WAITLIST_LIMIT = 100_000;

/** Body of `POST /v1/events`. */
export const createEventBody = z
  .strictObject({
    name: storableString().trim().min(1).max(200),
    capacity: z.int().min(1).max(MAX_CAPACITY),
    maxPerUser: z.int().min(1).max(MAX_CAPACITY).optional(),
    salesStartAt: isoDateTime.optional(),
    salesEndAt: isoDateTime.optional(),
    holdSeconds: z.int().min(MIN_HOLD_SECONDS).max(MAX_HOLD_SECONDS).optional(),
    waitlistLimit: z.int().min(1).max(MAX_WAITLIST_LIMIT).optional(),
  })
  .refine((e) => !e.salesStartAt || !e.salesEndAt || Date.parse(e.salesEndAt) > Date.parse(e.salesStartAt), {
    path: ['salesEndAt'],
    message: 'must be later than salesStartAt',
  })
  .refine((e) => e.maxPerUser === undefined || e.maxPerUser <= e.capacity, {
    path: ['maxPerUser'],
    message: 'must not be larger than capacity',
  });
export type CreateEventBody = z.infer<typeof createEventBody>;

/** Body of `POST /v1/events/:eventId/bookings`. */
export const createBookingBody = z.strictObject({
  userId: storableString().min(1).max(128),
  quantity: z.int().min(1).max(10),
  /** Join the event's waiting list (if it has one) rather than be rejected SOLD_OUT. */
  waitlist: z.boolean().optional(),
});
export type CreateBookingBody = z.infer<typeof createBookingBody>;

/** The same body where the identity comes from a token or a gateway (`AUTH_MODE` jwt or header). */
export const identifiedBookingBody = createBookingBody.partial({ userId: true });

/** `?limit=&cursor=` of the list routes. */
export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
});

/** `Idempotency-Key` header: 1..255 printable ASCII characters. */
export const idempotencyKey = z.string().regex(/^[\x20-\x7e]{1,255}$/, 'must be 1..255 printable characters');

/**
 * Ids in a route's path. They are opaque and checked for their shape before any lookup; one that
 * PostgreSQL could not even compare against is refused as invalid rather than reported as not found.
 */
export const pathParams = z.record(z.string(), storableString());

/** `?wait=` of the long-poll route, in seconds. */
export const waitQuery = z.strictObject({
  wait: z.coerce.number().int().min(0).max(30).default(0),
});
