import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import {
  bookingAccepted,
  bookingRequestView,
  bookingView,
  createBookingBody,
  createEventBody,
  ERROR_TITLE,
  type ErrorCode,
  eventView,
  problemDetails,
} from '@booking/domain';
import { z } from 'zod';

import { problemExamples } from './examples.ts';

// Named components of the document. `.meta({ id })` makes a schema a `#/components/schemas/<id>`;
// the request schemas are the very ones the routes validate with (meta only adds documentation).

export const CreateEventRequest = createEventBody.meta({
  id: 'CreateEventRequest',
  description:
    'A new event. `salesEndAt` must be later than `salesStartAt`, `maxPerUser` at most `capacity`; `name` must not ' +
    'hold NUL characters or unpaired surrogates; unknown fields are rejected.',
});
export const CreateBookingRequest = createBookingBody.meta({
  id: 'CreateBookingRequest',
  description:
    'One attempt by one user to take `quantity` seats. `userId` must not hold NUL characters or unpaired ' +
    'surrogates; unknown fields are rejected. With `AUTH_MODE` jwt or header the user is the identity: ' +
    '`userId` may be left out, and one that differs from the identity is `403 FORBIDDEN`.',
});

export const Event = eventView.meta({ id: 'Event', description: 'An event and its seats.' });
export const BookingAccepted = bookingAccepted.meta({
  id: 'BookingAccepted',
  description: "A booking request accepted for decision by the event's worker.",
});
export const BookingRequest = bookingRequestView.meta({
  id: 'BookingRequest',
  description: 'A booking request: `pending`, then `confirmed` or `rejected` for good.',
});
export const Booking = bookingView.meta({ id: 'Booking', description: 'A confirmed booking, possibly cancelled since.' });
export const EventPage = z
  .object({ items: z.array(Event), nextCursor: z.string().nullable() })
  .meta({ id: 'EventPage', description: 'A page of events, newest first; `nextCursor` is null on the last page.' });
export const BookingPage = z
  .object({ items: z.array(Booking), nextCursor: z.string().nullable() })
  .meta({ id: 'BookingPage', description: 'A page of bookings, newest first; `nextCursor` is null on the last page.' });
export const Problem = problemDetails.meta({
  id: 'Problem',
  description: 'An error answer (`application/problem+json`); `code` is stable, the texts are for people.',
});

const checkState = z.enum(['ok', 'unavailable']);
export const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health', description: 'The process is alive.' });
export const Readiness = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    checks: z.object({ postgres: checkState, redis: checkState }),
  })
  .meta({ id: 'Readiness', description: 'Whether PostgreSQL and Redis answer.' });
export const OpenApiDocument = z
  .looseObject({ openapi: z.string().startsWith('3.1'), info: z.looseObject({ title: z.string(), version: z.string() }) })
  .meta({ id: 'OpenApiDocument', description: 'This document.' });

export const SECURITY_SCHEMES = {
  adminBearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'The admin key (`ADMIN_API_KEY`) as a bearer token.',
  },
  adminBasic: {
    type: 'http',
    scheme: 'basic',
    description: 'Any user name with the admin key as the password, so that a browser can log in.',
  },
  userBearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'With `AUTH_MODE=jwt`: a JWT whose `sub` is the user (HS256 with `AUTH_JWT_SECRET`, or RS256/ES256/EdDSA ' +
      'from `AUTH_JWKS_URL`); `exp` required, `iss`/`aud` checked when configured, 30 s clock skew.',
  },
  userHeader: {
    type: 'apiKey',
    in: 'header',
    name: 'X-User-Id',
    description: 'With `AUTH_MODE=header`: the user id, set by a trusted gateway (header name `AUTH_USER_HEADER`).',
  },
} as const;

/**
 * Who may call a user route: with `AUTH_MODE=none` anyone (`{}`: the body's userId is the user), else
 * a user token or gateway header, or the admin key (which sees and cancels any user's).
 */
export const USER_SECURITY: Record<string, string[]>[] = [{}, { userBearer: [] }, { userHeader: [] }, { adminBearer: [] }];

/** Either admin credential. */
export const ADMIN_SECURITY: Record<string, string[]>[] = [{ adminBearer: [] }, { adminBasic: [] }];

export const locationHeader = (description: string, example: string) => z.object({ Location: z.string().meta({ description, example }) });

export const retryAfterHeader = z.object({
  'Retry-After': z.int().min(0).meta({ description: 'Seconds to wait before trying again.', example: 2 }),
});

export const wwwAuthenticateHeader = (example: string) =>
  z.object({ 'WWW-Authenticate': z.string().meta({ description: 'The accepted authentication scheme.', example }) });

/** An error response whose examples are the API's answers for `codes` (or the ones given). */
export function problemResponse(
  description: string,
  codes: ErrorCode[],
  options: { headers?: z.ZodObject; examples?: Partial<Record<ErrorCode, unknown>> } = {},
): ResponseConfig {
  const examples = Object.fromEntries(
    codes.map((code) => [code, { summary: `${code}: ${ERROR_TITLE[code]}`, value: options.examples?.[code] ?? problemExamples[code] }]),
  );
  return {
    description,
    ...(options.headers ? { headers: options.headers } : {}),
    content: { 'application/problem+json': { schema: Problem, examples } },
  };
}

/** `401 UNAUTHORIZED` of a user route (`AUTH_MODE` jwt or header). */
export const userUnauthorizedResponse = (what = 'no identity, or a bad, expired or unsigned token') =>
  problemResponse(`\`UNAUTHORIZED\` (\`AUTH_MODE\` jwt or header): ${what}.`, ['UNAUTHORIZED'], {
    headers: wwwAuthenticateHeader('Bearer'),
    examples: { UNAUTHORIZED: { ...problemExamples.UNAUTHORIZED, detail: 'a bearer token is required' } },
  });

/** `503 UNAVAILABLE`: a dependency is down; the answer comes at once, never a hang. */
export const unavailableResponse = problemResponse(
  'A dependency (PostgreSQL or Redis) is unavailable; retry after `Retry-After` seconds.',
  ['UNAVAILABLE'],
  { headers: retryAfterHeader },
);

/** A JSON response with named examples. */
export function jsonResponse(
  description: string,
  schema: z.ZodType,
  examples: Record<string, unknown>,
  headers?: z.ZodObject,
): ResponseConfig {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: {
      'application/json': {
        schema,
        examples: Object.fromEntries(Object.entries(examples).map(([name, value]) => [name, { value }])),
      },
    },
  };
}
