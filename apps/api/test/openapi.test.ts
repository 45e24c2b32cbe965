import { createOpenApiRegistry, generateOpenApiDocument } from '@booking/api';
import { bookingAccepted, bookingRequestView, bookingView, ERROR_STATUS, errorCode, eventView, problemDetails } from '@booking/domain';
import { awaitDecision, request, unknownId } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';

import { type ServedRoute, servedRoutes, toOpenApiPath } from './express-routes.ts';

// The generated document is plain JSON; `any` lets the walks below index into it freely.

type Json = any;

const registry = createOpenApiRegistry();
const document: Json = generateOpenApiDocument(registry);
const routeConfigs = registry.definitions.flatMap((d) => (d.type === 'route' ? [d.route] : []));
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** Every documented operation: `[method, path, operation]`. */
const operations: [string, string, Json][] = Object.entries(document.paths as Record<string, Json>).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((m): [string, string, Json] => [m, path, item[m]]),
);

// The files the documented /docs page loads; they belong to it rather than being API routes.
const DOCS_PAGE_ASSET = /^\/docs\/[^/]+$/;

function pointer(...parts: (string | number)[]): string {
  return parts.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** JSON pointers of every `example` and `examples` in `node`. */
function exampleKeys(node: Json, at = ''): string[] {
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => [
    ...(key === 'example' || key === 'examples' ? [`${at}${pointer(key)}`] : []),
    ...exampleKeys(value, `${at}${pointer(key)}`),
  ]);
}

/** Whether every `$ref` in `node` points at something in `root`; returns the ones that do not. */
function danglingRefs(root: Json, node: Json = root): string[] {
  if (node === null || typeof node !== 'object') return [];
  const own: string[] = [];
  if (typeof node.$ref === 'string') {
    const ref: string = node.$ref;
    let target: Json = ref.startsWith('#/') ? root : undefined;
    for (const part of ref.slice(2).split('/')) {
      target = target?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    }
    if (target === undefined) own.push(ref);
  }
  return [...own, ...Object.values(node).flatMap((v) => danglingRefs(root, v))];
}

function expectValid(schema: z.ZodType, value: unknown, where: string): void {
  const result = schema.safeParse(value);
  expect(result.success, `${where}: ${result.error?.message}`).toBe(true);
  // A key the schema does not know would be dropped: the example would show a field that is not there.
  expect(result.data, `${where} has fields its schema does not have`).toEqual(value);
}

let stack: Stack;
let served: ServedRoute[];
beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  served = servedRoutes(stack.api.server);
});
afterAll(async () => {
  await stack.close();
});

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and valid by the OpenAPI 3.1 schema and rules', async () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    const result = await validate(structuredClone(document), { resolve: { external: false } });
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('resolves every $ref within itself', () => {
    expect(danglingRefs(document)).toEqual([]);
  });

  it('documents every route the Express app serves', () => {
    const undocumented = served.filter(({ method, path }) => {
      const item = document.paths[toOpenApiPath(path)];
      if (method === '*') return item === undefined;
      return item?.[method.toLowerCase()] === undefined && !DOCS_PAGE_ASSET.test(path);
    });
    expect(served.length).toBeGreaterThan(10);
    expect(undocumented).toEqual([]);
  });

  it('documents only routes the Express app serves', () => {
    const unserved = operations
      .filter(
        ([method, path]) => !served.some((r) => toOpenApiPath(r.path) === path && (r.method === '*' || r.method === method.toUpperCase())),
      )
      .map(([method, path]) => `${method.toUpperCase()} ${path}`);
    expect(unserved).toEqual([]);
  });

  it('documents every route of the contract, with the operations it names', () => {
    expect(operations.map(([m, p]) => `${m.toUpperCase()} ${p}`).sort()).toEqual(
      [
        'POST /v1/events',
        'GET /v1/events',
        'GET /v1/events/{eventId}',
        'GET /v1/me/bookings',
        'POST /v1/events/{eventId}/bookings',
        'GET /v1/booking-requests/{requestId}',
        'POST /v1/booking-requests/{requestId}/withdraw',
        'GET /v1/bookings/{bookingId}',
        'POST /v1/bookings/{bookingId}/cancel',
        'POST /v1/bookings/{bookingId}/confirm',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /openapi.json',
        'GET /docs',
        'GET /admin/queues',
      ].sort(),
    );
    const submit = document.paths['/v1/events/{eventId}/bookings'].post;
    // 200: the second version's `Prefer: wait=N`, decided within N seconds.
    // 401 and 403: the second version's identities (AUTH_MODE jwt or header).
    expect(Object.keys(submit.responses).sort()).toEqual([
      '200',
      '202',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '422',
      '429',
      '503',
    ]);
    expect(submit.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }));
    expect(submit.parameters).toContainEqual(expect.objectContaining({ name: 'Prefer', in: 'header', required: false }));
    expect(submit.responses['200'].headers).toHaveProperty('Preference-Applied');
    expect(submit.responses['200'].headers).toHaveProperty('Location');
    expect(Object.keys(submit.responses['409'].content['application/problem+json'].examples).sort()).toEqual([
      'SALES_CLOSED',
      'SALES_NOT_OPEN',
      'SOLD_OUT',
    ]);
    expect(submit.responses['429'].headers).toHaveProperty('Retry-After');
    expect(submit.responses['503'].headers).toHaveProperty('Retry-After');
    expect(submit.responses['202'].headers).toHaveProperty('Location');
    expect(document.paths['/v1/events'].post.security).toContainEqual({ adminBearer: [] });
    expect(document.components.securitySchemes.adminBearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.paths['/v1/booking-requests/{requestId}'].get.parameters).toContainEqual(
      expect.objectContaining({ name: 'wait', in: 'query', schema: expect.objectContaining({ minimum: 0, maximum: 30, default: 0 }) }),
    );
  });

  it('lists every problem code of the contract in the Problem schema', () => {
    expect([...document.components.schemas.Problem.properties.code.enum].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    expect([...errorCode.options].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });

  it('gives each error example the status of the response it is listed under', () => {
    for (const [method, path, op] of operations) {
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        const examples = response.content?.['application/problem+json']?.examples ?? {};
        for (const [name, example] of Object.entries(examples as Record<string, Json>)) {
          expect(example.value.status, `${method} ${path} ${status} ${name}`).toBe(Number(status));
          expect(example.value.code, `${method} ${path} ${status}`).toBe(name);
        }
      }
    }
  });

  it('has only examples that its zod schemas accept', () => {
    const checked = new Set<string>();
    for (const route of routeConfigs) {
      const op = document.paths[route.path]?.[route.method];
      const at = pointer('paths', route.path, route.method);
      const paramSchemas: Record<string, z.ZodObject | undefined> = {
        path: route.request?.params as z.ZodObject | undefined,
        query: route.request?.query as z.ZodObject | undefined,
        header: route.request?.headers as z.ZodObject | undefined,
      };
      (op.parameters ?? []).forEach((param: Json, i: number) => {
        const schema = paramSchemas[param.in]?.shape[param.name] as z.ZodType;
        for (const [where, value] of [
          [`${at}${pointer('parameters', i, 'example')}`, param.example],
          [`${at}${pointer('parameters', i, 'schema', 'example')}`, param.schema?.example],
        ]) {
          if (value === undefined) continue;
          expectValid(schema, value, where);
          checked.add(where);
        }
      });
      type Configured = { content?: Record<string, { schema: unknown }>; headers?: z.ZodObject };
      const contents: [string, Json, Configured | undefined][] = [
        [`${at}${pointer('requestBody')}`, op.requestBody, route.request?.body as Configured | undefined],
        ...Object.entries(route.responses).map(([status, config]): [string, Json, Configured] => [
          `${at}${pointer('responses', status)}`,
          op.responses[status],
          config as Configured,
        ]),
      ];
      for (const [where, documented, configured] of contents) {
        for (const [mediaType, media] of Object.entries((documented?.content ?? {}) as Record<string, Json>)) {
          const schema = configured?.content?.[mediaType]?.schema as z.ZodType;
          const mediaAt = `${where}${pointer('content', mediaType)}`;
          for (const [name, example] of Object.entries((media.examples ?? {}) as Record<string, Json>)) {
            expectValid(schema, example.value, `${mediaAt}/examples/${name}`);
          }
          if (media.examples) checked.add(`${mediaAt}/examples`);
          if (media.example !== undefined) {
            expectValid(schema, media.example, `${mediaAt}/example`);
            checked.add(`${mediaAt}/example`);
          }
        }
        for (const [name, header] of Object.entries((documented?.headers ?? {}) as Record<string, Json>)) {
          const example = header.schema?.example;
          if (example === undefined) continue;
          const headerAt = `${where}${pointer('headers', name, 'schema', 'example')}`;
          expectValid(configured?.headers?.shape[name] as z.ZodType, example, headerAt);
          checked.add(headerAt);
        }
      }
    }
    expect(checked.size).toBeGreaterThan(30);
    // Every example in the document was one of those checked.
    expect(exampleKeys(document).filter((p) => !checked.has(p))).toEqual([]);
  });
});

describe('the API as the document describes it', () => {
  it('serves the document at /openapi.json', async () => {
    const res = await request(stack.baseUrl, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('answers each documented operation, called with its examples, with a documented status and media type', async () => {
    for (const [method, path, op] of operations) {
      let url = path;
      for (const param of (op.parameters ?? []) as Json[]) {
        if (param.in === 'path') url = url.replace(`{${param.name}}`, encodeURIComponent(param.schema.example));
      }
      const body = op.requestBody?.content?.['application/json']?.examples;
      const json = body ? (Object.values(body)[0] as Json).value : undefined;
      const res = await fetch(`${stack.baseUrl}${url}`, {
        method: method.toUpperCase(),
        ...(json !== undefined ? { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } } : {}),
      });
      await res.arrayBuffer();
      const documented = op.responses[String(res.status)];
      expect(documented, `${method.toUpperCase()} ${url} answered ${res.status}`).toBeDefined();
      const mediaTypes = Object.keys(documented.content ?? {}).map((t) => t.split(';')[0]);
      expect(mediaTypes, `${method.toUpperCase()} ${url}`).toContain(res.headers.get('content-type')?.split(';')[0]);
    }
  });

  it('describes the real answers of a booking from creation to cancellation', async () => {
    const created = await request(stack.baseUrl, 'POST', '/v1/events', { admin: true, json: { name: 'Documented', capacity: 3 } });
    expectValid(eventView, created.body, 'POST /v1/events 201');
    const accepted = await request(stack.baseUrl, 'POST', `/v1/events/${created.body.id}/bookings`, {
      json: { userId: 'u1', quantity: 2 },
    });
    expect(accepted.status).toBe(202);
    expectValid(bookingAccepted, accepted.body, 'POST bookings 202');
    const decided = await awaitDecision(stack.baseUrl, accepted.body.requestId);
    expect(decided.status).toBe('confirmed');
    expectValid(bookingRequestView, decided, 'GET booking request 200');
    const booking = await request(stack.baseUrl, 'GET', `/v1/bookings/${decided.bookingId}`);
    expectValid(bookingView, booking.body, 'GET booking 200');
    const cancelled = await request(stack.baseUrl, 'POST', `/v1/bookings/${decided.bookingId}/cancel`);
    expect(cancelled.body.status).toBe('cancelled');
    expectValid(bookingView, cancelled.body, 'POST cancel 200');
  });

  it('describes the real problem answers, down to their type URI and title', async () => {
    const res = await request(stack.baseUrl, 'GET', `/v1/events/${unknownId()}`);
    expectValid(problemDetails, res.body, 'GET unknown event');
    const example =
      document.paths['/v1/events/{eventId}'].get.responses['404'].content['application/problem+json'].examples.EVENT_NOT_FOUND.value;
    expect({ ...res.body, detail: undefined }).toEqual({ ...example, detail: undefined });
  });
});
