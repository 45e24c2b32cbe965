import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { pageQuery } from '@booking/domain';

import {
  BookingPage,
  EventPage,
  jsonResponse,
  problemResponse,
  unavailableResponse,
  USER_SECURITY,
  userUnauthorizedResponse,
} from './components.ts';
import { exampleBookings, exampleEvent, exampleProblem } from './examples.ts';

const EXAMPLE_CURSOR = 'MjAzMC0wMy0wMSAwOTowMDowMC4xMjM0NTYrMDB8WGsyZjlRdkxyMGFCN2NEMWVGM2dIdw';

// `limit` is coerced from the query string; its JSON schema is spelled out from the validator's bounds.
const limit = pageQuery.shape.limit;
const pageParams = pageQuery.extend({
  limit: limit.meta({
    description: 'Items per page.',
    type: 'integer',
    minimum: limit.unwrap().minValue ?? undefined,
    maximum: limit.unwrap().maxValue ?? undefined,
    default: limit.def.defaultValue,
    example: 20,
  }),
  cursor: pageQuery.shape.cursor.meta({
    description: 'Opaque: the `nextCursor` of the page before. Pages stay stable while items are added.',
    example: EXAMPLE_CURSOR,
  }),
});

const badPage = problemResponse(
  '`VALIDATION_FAILED`: `limit` is not an integer from 1 to 100, or `cursor` is not one of this list.',
  ['VALIDATION_FAILED'],
  {
    examples: {
      VALIDATION_FAILED: exampleProblem('VALIDATION_FAILED', 'the query is invalid', [
        { field: 'cursor', message: 'is not a cursor of this list' },
      ]),
    },
  },
);

/** `GET /v1/events` and `GET /v1/me/bookings`. */
export function registerListPaths(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get',
    path: '/v1/events',
    operationId: 'listEvents',
    tags: ['Events'],
    summary: 'List events, newest first',
    request: { query: pageParams },
    responses: {
      200: jsonResponse('A page of events.', EventPage, { page: { items: [exampleEvent], nextCursor: EXAMPLE_CURSOR } }),
      400: badPage,
      503: unavailableResponse,
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/me/bookings',
    operationId: 'listMyBookings',
    tags: ['Bookings'],
    summary: "List the caller's bookings, newest first",
    description: 'Needs a user identity (`AUTH_MODE` jwt or header); with `AUTH_MODE=none` there is none: `401`.',
    security: USER_SECURITY.filter((s) => !('adminBearer' in s) && Object.keys(s).length > 0),
    request: { query: pageParams },
    responses: {
      200: jsonResponse('A page of bookings.', BookingPage, { lastPage: { items: [exampleBookings.confirmed], nextCursor: null } }),
      400: badPage,
      401: userUnauthorizedResponse('no user identity'),
      503: unavailableResponse,
    },
  });
}
