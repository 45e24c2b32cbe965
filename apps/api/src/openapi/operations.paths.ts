import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

import {
  ADMIN_SECURITY,
  Health,
  jsonResponse,
  OpenApiDocument,
  problemResponse,
  Readiness,
  retryAfterHeader,
  wwwAuthenticateHeader,
} from './components.ts';
import { exampleMetrics } from './examples.ts';

const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });

/** Health, readiness, metrics, this document, its page and the queue dashboard. */
export function registerOperationPaths(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    tags: ['Operations'],
    summary: 'Liveness',
    responses: { 200: jsonResponse('The process is alive.', Health, { ok: { status: 'ok' } }) },
  });

  registry.registerPath({
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    tags: ['Operations'],
    summary: 'Readiness',
    description: '`200` only when PostgreSQL and Redis answer (each within 1 s).',
    responses: {
      200: jsonResponse('Ready to serve.', Readiness, { ready: { status: 'ready', checks: { postgres: 'ok', redis: 'ok' } } }),
      503: jsonResponse(
        'Not ready: a dependency does not answer.',
        Readiness,
        { redisDown: { status: 'unavailable', checks: { postgres: 'ok', redis: 'unavailable' } } },
        retryAfterHeader,
      ),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tags: ['Operations'],
    summary: 'Prometheus metrics',
    responses: {
      200: {
        description: 'Metrics in the Prometheus text exposition format.',
        content: {
          'text/plain; version=0.0.4; charset=utf-8': {
            schema: z.string(),
            examples: { histogram: { value: exampleMetrics } },
          },
        },
      },
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    tags: ['Operations'],
    summary: 'This OpenAPI 3.1 document',
    responses: { 200: { description: 'The document.', content: { 'application/json': { schema: OpenApiDocument } } } },
  });

  registry.registerPath({
    method: 'get',
    path: '/docs',
    operationId: 'getDocs',
    tags: ['Operations'],
    summary: 'Interactive API documentation (Swagger UI)',
    description: 'Served entirely by this service; the page loads nothing from elsewhere.',
    responses: { 200: html('The documentation page.') },
  });

  registry.registerPath({
    method: 'get',
    path: '/admin/queues',
    operationId: 'getQueueDashboard',
    tags: ['Admin'],
    summary: 'Queue dashboard (admin)',
    description:
      "A read-only dashboard (bull-board) of every event's queue. Browsers get a Basic-auth prompt: any user " +
      'name, the admin key as the password. Its pages and JSON calls live under `/admin/queues/`.',
    security: ADMIN_SECURITY,
    responses: {
      200: html('The dashboard page.'),
      401: problemResponse('`UNAUTHORIZED`: no valid admin credential; browsers are asked to log in.', ['UNAUTHORIZED'], {
        headers: wwwAuthenticateHeader('Basic realm="booking admin"'),
      }),
    },
  });
}
