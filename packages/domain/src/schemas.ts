import { z } from 'zod';

const isoDateTime = z.iso.datetime({ offset: true });

/** Body of `POST /v1/events`. */
export const createEventBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    capacity: z.int().min(1).max(1_000_000),
    maxPerUser: z.int().min(1).optional(),
    salesStartAt: isoDateTime.optional(),
    salesEndAt: isoDateTime.optional(),
  })
  .refine(
    (e) => !e.salesStartAt || !e.salesEndAt || Date.parse(e.salesEndAt) > Date.parse(e.salesStartAt),
    { path: ['salesEndAt'], message: 'must be later than salesStartAt' },
  );
export type CreateEventBody = z.infer<typeof createEventBody>;

/** Body of `POST /v1/events/:eventId/bookings`. */
export const createBookingBody = z.strictObject({
  userId: z.string().min(1).max(128),
  quantity: z.int().min(1).max(10),
});
export type CreateBookingBody = z.infer<typeof createBookingBody>;

/** `Idempotency-Key` header: 1..255 printable ASCII characters. */
export const idempotencyKey = z.string().regex(/^[\x20-\x7e]{1,255}$/, 'must be 1..255 printable characters');

/** `?wait=` of the long-poll route, in seconds. */
export const waitQuery = z.strictObject({
  wait: z.coerce.number().int().min(0).max(30).default(0),
});
