import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

import {
  ADMIN_SECURITY,
  CreateEventRequest,
  Event,
  jsonResponse,
  locationHeader,
  problemResponse,
  unavailableResponse,
  wwwAuthenticateHeader,
} from './components.ts';
import { EXAMPLE_EVENT_ID, exampleEvent, exampleProblem } from './examples.ts';

export const eventIdParams = z.object({
  eventId: z.string().meta({ description: 'Event id, as returned when the event was created.', example: EXAMPLE_EVENT_ID }),
});

/** `POST /v1/events` and `GET /v1/events/{eventId}`. */
export function registerEventPaths(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/events',
    operationId: 'createEvent',
    tags: ['Events'],
    summary: 'Create an event (admin)',
    description: 'Creates an event with `capacity` seats, all available.',
    security: ADMIN_SECURITY,
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: CreateEventRequest,
            examples: {
              minimal: { summary: 'Name and capacity only', value: { name: 'Club night', capacity: 120 } },
              full: {
                summary: 'With a per-user limit and a sales window',
                value: {
                  name: 'Spring concert',
                  capacity: 500,
                  maxPerUser: 4,
                  salesStartAt: '2030-03-01T10:00:00+01:00',
                  salesEndAt: '2030-03-20T18:00:00Z',
                },
              },
            },
          },
        },
      },
    },
    responses: {
      201: jsonResponse(
        'The event as created.',
        Event,
        { created: { ...exampleEvent, available: exampleEvent.capacity } },
        locationHeader('Where the event can be read.', `/v1/events/${EXAMPLE_EVENT_ID}`),
      ),
      400: problemResponse('`VALIDATION_FAILED`: the body is not a valid event; `errors` names each field.', ['VALIDATION_FAILED'], {
        examples: {
          VALIDATION_FAILED: exampleProblem('VALIDATION_FAILED', 'the event is invalid', [
            { field: 'capacity', message: 'Too small: expected number to be >=1' },
          ]),
        },
      }),
      401: problemResponse('`UNAUTHORIZED`: no valid admin credential.', ['UNAUTHORIZED'], {
        headers: wwwAuthenticateHeader('Bearer'),
      }),
      413: problemResponse('`PAYLOAD_TOO_LARGE`: the body is over the size limit (16 KiB by default).', ['PAYLOAD_TOO_LARGE']),
      415: problemResponse('`UNSUPPORTED_MEDIA_TYPE`: the body is not sent as JSON.', ['UNSUPPORTED_MEDIA_TYPE']),
      503: unavailableResponse,
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/events/{eventId}',
    operationId: 'getEvent',
    tags: ['Events'],
    summary: 'Read an event',
    description: '`available` counts seats not taken by confirmed, not-cancelled bookings.',
    request: { params: eventIdParams },
    responses: {
      200: jsonResponse('The event.', Event, { event: exampleEvent }),
      404: problemResponse('`EVENT_NOT_FOUND`: no event has this id.', ['EVENT_NOT_FOUND']),
      503: unavailableResponse,
    },
  });
}
