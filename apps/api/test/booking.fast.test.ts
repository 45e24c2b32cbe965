import { request as httpRequest } from 'node:http';

import { createEvent, submit } from '@booking/test-support';
import { ADMIN_KEY, type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AUDIENCE, hsToken, ISSUER, TEST_SECRET, unsignedToken } from './tokens.ts';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/**
 * Sends a booking submission's body either with a Content-Length (served by the fast front) or in
 * chunks (Transfer-Encoding: chunked, which the front leaves to the Express route).
 */
function post(baseUrl: string, path: string, body: string, how: 'fast' | 'express', headers: Record<string, string> = {}): Promise<Raw> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(how === 'fast' ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    if (how === 'fast') req.end(body);
    else {
      // Two writes without a length: chunked.
      const half = Math.floor(body.length / 2);
      req.write(body.slice(0, half));
      req.end(body.slice(half));
    }
  });
}

/** What must be the same either way: status, the headers a client reads, the body (ids aside). */
function comparable(r: Raw) {
  const body = r.body && typeof r.body === 'object' ? { ...r.body } : r.body;
  if (body && typeof body.requestId === 'string') body.requestId = '<id>';
  if (body && typeof body.decidedAt === 'string') body.decidedAt = '<time>';
  if (body && typeof body.acceptedAt === 'string') body.acceptedAt = '<time>';
  if (body && typeof body.bookingId === 'string') body.bookingId = '<id>';
  if (body && typeof body.position === 'number') body.position = '<n>';
  return {
    status: r.status,
    body,
    contentType: r.headers['content-type'],
    location: typeof r.headers.location === 'string' ? r.headers.location.replace(/[^/]+$/, '<id>') : r.headers.location,
    retryAfter: r.headers['retry-after'],
    wwwAuthenticate: r.headers['www-authenticate'],
    preferenceApplied: r.headers['preference-applied'],
    // The security headers every answer carries.
    contentSecurityPolicy: r.headers['content-security-policy'],
    contentTypeOptions: r.headers['x-content-type-options'],
    frameOptions: r.headers['x-frame-options'],
    // A correlation id of the caller's is echoed; one made up here is a new UUID each time.
    requestId: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(String(r.headers['x-request-id']))
      ? '<uuid>'
      : r.headers['x-request-id'],
  };
}

describe('booking submissions answer the same through the fast front and through the Express route', () => {
  let stack: Stack;
  let open: { id: string };
  let soldOut: { id: string };

  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
    open = await createEvent(stack.baseUrl, { capacity: 1_000, maxPerUser: 4 });
    soldOut = await createEvent(stack.baseUrl, { capacity: 1 });
    expect((await submit(stack.baseUrl, soldOut.id, 'first', 1)).status).toBe(202);
  });

  afterAll(async () => {
    await stack.close();
  });

  const cases: Array<[string, () => string, string, Record<string, string>?]> = [
    ['a valid request', () => `/v1/events/${open.id}/bookings`, JSON.stringify({ userId: 'valid', quantity: 1 })],
    ['a quantity out of range', () => `/v1/events/${open.id}/bookings`, JSON.stringify({ userId: 'u', quantity: 0 })],
    ['an unknown field', () => `/v1/events/${open.id}/bookings`, JSON.stringify({ userId: 'u', quantity: 1, seat: 'A1' })],
    ['a NUL in the user id', () => `/v1/events/${open.id}/bookings`, JSON.stringify({ userId: 'a\u0000b', quantity: 1 })],
    ['malformed JSON', () => `/v1/events/${open.id}/bookings`, '{"userId": "u", '],
    ['a JSON string instead of an object', () => `/v1/events/${open.id}/bookings`, '"just a string"'],
    ['a JSON array', () => `/v1/events/${open.id}/bookings`, '[1, 2]'],
    ['an unknown event', () => `/v1/events/${'A'.repeat(22)}/bookings`, JSON.stringify({ userId: 'u', quantity: 1 })],
    ['an event id of the wrong shape', () => '/v1/events/not-an-id/bookings', JSON.stringify({ userId: 'u', quantity: 1 })],
    ['a sold-out event', () => `/v1/events/${soldOut.id}/bookings`, JSON.stringify({ userId: 'late', quantity: 1 })],
    [
      'a malformed Idempotency-Key',
      () => `/v1/events/${open.id}/bookings`,
      JSON.stringify({ userId: 'u', quantity: 1 }),
      { 'idempotency-key': 'x'.repeat(300) },
    ],
    [
      'an X-Request-Id to echo',
      () => `/v1/events/${soldOut.id}/bookings`,
      JSON.stringify({ userId: 'echo', quantity: 1 }),
      { 'x-request-id': 'trace-123' },
    ],
  ];

  for (const [what, path, body, headers] of cases) {
    it(`answers ${what} alike`, async () => {
      const fast = await post(stack.baseUrl, path(), body, 'fast', headers);
      const express = await post(stack.baseUrl, path(), body, 'express', headers);
      expect(comparable(fast)).toEqual(comparable(express));
      // Not vacuous: every case gets an answer with a body and a correlation id.
      expect(fast.body).toBeDefined();
      expect(fast.headers['x-request-id']).toBeTruthy();
      expect(fast.headers['x-content-type-options']).toBe('nosniff');
    });
  }

  it('answers a Prefer: wait alike: 200 with the decision and Preference-Applied', async () => {
    const body = (user: string) => JSON.stringify({ userId: user, quantity: 1 });
    const fast = await post(stack.baseUrl, `/v1/events/${open.id}/bookings`, body('wait-fast'), 'fast', { prefer: 'wait=10' });
    const express = await post(stack.baseUrl, `/v1/events/${open.id}/bookings`, body('wait-express'), 'express', { prefer: 'wait=10' });
    expect(fast.status).toBe(200);
    expect(fast.body).toMatchObject({ status: 'confirmed', userId: 'wait-fast' });
    expect({ ...comparable(fast), body: undefined }).toEqual({ ...comparable(express), body: undefined });
  });

  it('replays an Idempotency-Key the same way whichever way the first request came', async () => {
    const body = JSON.stringify({ userId: 'idem', quantity: 2 });
    const headers = { 'idempotency-key': 'fast-and-express-0001' };
    const first = await post(stack.baseUrl, `/v1/events/${open.id}/bookings`, body, 'fast', headers);
    const again = await post(stack.baseUrl, `/v1/events/${open.id}/bookings`, body, 'express', headers);
    const conflict = await post(
      stack.baseUrl,
      `/v1/events/${open.id}/bookings`,
      JSON.stringify({ userId: 'idem', quantity: 1 }),
      'fast',
      headers,
    );
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.requestId).toBe(first.body.requestId);
    expect(conflict.status).toBe(422);
  });
});

describe('with AUTH_MODE=jwt, the fast front and the Express route answer alike too', () => {
  let stack: Stack;
  let eventId: string;

  beforeAll(async () => {
    stack = await startStack({ workers: 0, api: { auth: { mode: 'jwt', jwtSecret: TEST_SECRET, issuer: ISSUER, audience: AUDIENCE } } });
    eventId = (await createEvent(stack.baseUrl, { capacity: 100 })).id;
  });

  afterAll(async () => {
    await stack.close();
  });

  const cases: Array<[string, () => Promise<Record<string, string>>, unknown]> = [
    ['a valid token, no userId in the body', async () => ({ authorization: `Bearer ${await hsToken('alice')}` }), { quantity: 1 }],
    ['no token', () => Promise.resolve({}), { quantity: 1 }],
    [
      'a token of another secret',
      async () => ({ authorization: `Bearer ${await hsToken('alice', { secret: 'x'.repeat(40) })}` }),
      { quantity: 1 },
    ],
    ['an unsigned token', () => Promise.resolve({ authorization: `Bearer ${unsignedToken('alice')}` }), { quantity: 1 }],
    [
      'a body userId that differs from the identity',
      async () => ({ authorization: `Bearer ${await hsToken('alice')}` }),
      { userId: 'bob', quantity: 1 },
    ],
    ['the admin key booking for a user', () => Promise.resolve({ authorization: `Bearer ${ADMIN_KEY}` }), { userId: 'carol', quantity: 1 }],
  ];

  for (const [what, headers, json] of cases) {
    it(`answers ${what} alike`, async () => {
      const body = JSON.stringify(json);
      const fast = await post(stack.baseUrl, `/v1/events/${eventId}/bookings`, body, 'fast', await headers());
      const express = await post(stack.baseUrl, `/v1/events/${eventId}/bookings`, body, 'express', await headers());
      expect(comparable(fast)).toEqual(comparable(express));
      expect([202, 401, 403]).toContain(fast.status);
    });
  }
});
