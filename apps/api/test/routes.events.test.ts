import { basicAuth, expectFieldProblem, expectProblem, ISO_INSTANT, request, rowCounts, unknownId } from '@booking/test-support';
import { ADMIN_KEY, type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 0 });
});
afterAll(async () => {
  await stack.close();
});

const createEvent = (json: unknown, headers: Record<string, string> = {}) =>
  request(stack.baseUrl, 'POST', '/v1/events', { json, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers } });

describe('POST /v1/events', () => {
  it('creates an event with every field and answers 201 with its Location', async () => {
    const res = await createEvent({
      name: 'Concert',
      capacity: 100,
      maxPerUser: 4,
      salesStartAt: '2030-01-01T10:00:00+02:00',
      salesEndAt: '2030-01-02T10:00:00Z',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      id: expect.any(String),
      name: 'Concert',
      capacity: 100,
      available: 100,
      maxPerUser: 4,
      salesStartAt: '2030-01-01T08:00:00.000Z',
      salesEndAt: '2030-01-02T10:00:00.000Z',
      createdAt: expect.stringMatching(ISO_INSTANT),
    });
    expect(res.headers.get('location')).toBe(`/v1/events/${res.body.id}`);
  });

  it('answers null for the optional fields left out', async () => {
    const res = await createEvent({ name: 'Minimal', capacity: 1 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ capacity: 1, available: 1, maxPerUser: null, salesStartAt: null, salesEndAt: null });
  });

  it('accepts the largest capacity, 1,000,000', async () => {
    const res = await createEvent({ name: 'Stadium', capacity: 1_000_000 });
    expect(res.status).toBe(201);
  });

  it('accepts the admin key as a Basic-auth password', async () => {
    const res = await request(stack.baseUrl, 'POST', '/v1/events', {
      json: { name: 'Basic', capacity: 5 },
      headers: { authorization: basicAuth(ADMIN_KEY) },
    });
    expect(res.status).toBe(201);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['name is missing', { capacity: 10 }, 'name'],
    ['name is empty', { name: '', capacity: 10 }, 'name'],
    ['name is only spaces', { name: '   ', capacity: 10 }, 'name'],
    ['name has 201 characters', { name: 'n'.repeat(201), capacity: 10 }, 'name'],
    ['name is not a string', { name: 42, capacity: 10 }, 'name'],
    ['capacity is missing', { name: 'E' }, 'capacity'],
    ['capacity is 0', { name: 'E', capacity: 0 }, 'capacity'],
    ['capacity is 1000001', { name: 'E', capacity: 1_000_001 }, 'capacity'],
    ['capacity is 1.5', { name: 'E', capacity: 1.5 }, 'capacity'],
    ['capacity is a string', { name: 'E', capacity: '10' }, 'capacity'],
    ['maxPerUser is 0', { name: 'E', capacity: 10, maxPerUser: 0 }, 'maxPerUser'],
    ['maxPerUser is 1.5', { name: 'E', capacity: 10, maxPerUser: 1.5 }, 'maxPerUser'],
    ['salesStartAt is not a date', { name: 'E', capacity: 10, salesStartAt: 'tomorrow' }, 'salesStartAt'],
    ['salesEndAt is not a real day', { name: 'E', capacity: 10, salesEndAt: '2030-02-30T00:00:00Z' }, 'salesEndAt'],
    [
      'salesEndAt is before salesStartAt',
      { name: 'E', capacity: 10, salesStartAt: '2030-01-02T00:00:00Z', salesEndAt: '2030-01-01T00:00:00Z' },
      'salesEndAt',
    ],
    [
      'salesEndAt equals salesStartAt',
      { name: 'E', capacity: 10, salesStartAt: '2030-01-01T00:00:00Z', salesEndAt: '2030-01-01T00:00:00Z' },
      'salesEndAt',
    ],
  ];
  it.each(invalid)('answers 400 VALIDATION_FAILED naming the field when %s', async (_case, body, field) => {
    expectFieldProblem(await createEvent(body), field);
  });

  it('answers 400 VALIDATION_FAILED naming an unknown extra field', async () => {
    const res = await createEvent({ name: 'E', capacity: 10, colour: 'red' });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(res.body.errors)).toContain('colour');
  });

  it('answers 400 VALIDATION_FAILED when the body is a JSON array', async () => {
    expectProblem(await createEvent([{ name: 'E', capacity: 10 }]), 400, 'VALIDATION_FAILED');
  });

  it('answers 400 VALIDATION_FAILED for malformed JSON', async () => {
    const res = await request(stack.baseUrl, 'POST', '/v1/events', {
      admin: true,
      body: '{"name": "E", "capacity": ',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 400, 'VALIDATION_FAILED');
  });

  it('answers 401 UNAUTHORIZED without an Authorization header', async () => {
    const res = await request(stack.baseUrl, 'POST', '/v1/events', { json: { name: 'E', capacity: 10 } });
    expectProblem(res, 401, 'UNAUTHORIZED');
  });

  it('answers 401 UNAUTHORIZED with a wrong bearer token', async () => {
    expectProblem(await createEvent({ name: 'E', capacity: 10 }, { authorization: 'Bearer not-the-key' }), 401, 'UNAUTHORIZED');
  });

  it('answers 401 UNAUTHORIZED with a wrong Basic-auth password', async () => {
    const res = await createEvent({ name: 'E', capacity: 10 }, { authorization: basicAuth('not-the-key') });
    expectProblem(res, 401, 'UNAUTHORIZED');
  });

  it('answers 401 before looking at an invalid body', async () => {
    const res = await request(stack.baseUrl, 'POST', '/v1/events', { json: { capacity: 0 } });
    expectProblem(res, 401, 'UNAUTHORIZED');
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE for a body that is not JSON', async () => {
    const res = await request(stack.baseUrl, 'POST', '/v1/events', {
      admin: true,
      body: 'name=E&capacity=10',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 PAYLOAD_TOO_LARGE for a body over 16 KiB', async () => {
    const res = await createEvent({ name: 'E', capacity: 10, padding: 'x'.repeat(17 * 1024) });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('writes no event for any rejected creation', async () => {
    const before = await rowCounts(stack.db);
    const answers = await Promise.all([
      createEvent({ capacity: 10 }),
      createEvent({ name: 'E', capacity: 0 }),
      createEvent({ name: 'E', capacity: 10, colour: 'red' }),
      createEvent({ name: 'E', capacity: 10, padding: 'x'.repeat(17 * 1024) }),
      createEvent({ name: 'E', capacity: 10 }, { authorization: 'Bearer wrong' }),
      request(stack.baseUrl, 'POST', '/v1/events', { json: { name: 'E', capacity: 10 } }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([400, 400, 400, 413, 401, 401]);
    expect(await rowCounts(stack.db)).toEqual(before);
  });
});

describe('GET /v1/events/:eventId', () => {
  it('answers 200 with the event as created', async () => {
    const created = await createEvent({ name: 'Read me', capacity: 7, maxPerUser: 2 });
    const res = await request(stack.baseUrl, 'GET', `/v1/events/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created.body);
  });

  it('answers 404 EVENT_NOT_FOUND for an unknown id', async () => {
    expectProblem(await request(stack.baseUrl, 'GET', `/v1/events/${unknownId()}`), 404, 'EVENT_NOT_FOUND');
  });

  it.each([
    ['a short word', 'nope'],
    ['a very long id', 'x'.repeat(2000)],
    ['SQL', encodeURIComponent("' OR 1=1 --")],
  ])('answers 404 EVENT_NOT_FOUND for a garbage id (%s)', async (_case, id) => {
    expectProblem(await request(stack.baseUrl, 'GET', `/v1/events/${id}`), 404, 'EVENT_NOT_FOUND');
  });
});

describe('operations and unknown routes', () => {
  it('answers 200 on /healthz', async () => {
    const res = await request(stack.baseUrl, 'GET', '/healthz');
    expect(res.status).toBe(200);
  });

  it('answers 200 on /readyz with each check ok', async () => {
    const res = await request(stack.baseUrl, 'GET', '/readyz');
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: { status: 'ready', checks: { postgres: 'ok', redis: 'ok' } },
    });
  });

  it('answers 404 NOT_FOUND problem+json for an unknown route', async () => {
    expectProblem(await request(stack.baseUrl, 'GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
  });

  it('answers 404 NOT_FOUND problem+json for an unserved method', async () => {
    expectProblem(await request(stack.baseUrl, 'DELETE', `/v1/events/${unknownId()}`), 404, 'NOT_FOUND');
  });
});

describe('an id in the path that is not valid percent-encoding', () => {
  // Bad input never produces a 5xx: 400 VALIDATION_FAILED or the route's own 404 are both fair answers.
  const routes: [string, string, string, unknown?][] = [
    ['GET', '/v1/events/%E0%A4%A', 'EVENT_NOT_FOUND'],
    ['POST', '/v1/events/%E0%A4%A/bookings', 'EVENT_NOT_FOUND', { userId: 'u', quantity: 1 }],
    ['GET', '/v1/booking-requests/%E0%A4%A', 'REQUEST_NOT_FOUND'],
    ['GET', '/v1/bookings/%E0%A4%A', 'BOOKING_NOT_FOUND'],
    ['POST', '/v1/bookings/%E0%A4%A/cancel', 'BOOKING_NOT_FOUND'],
  ];
  it.each(routes)('gets a 4xx problem, not a 5xx, from %s %s', async (method, path, notFoundCode, json) => {
    const res = await request(stack.baseUrl, method, path, json === undefined ? {} : { json });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
    expectProblem(res, res.status, res.status === 404 ? notFoundCode : 'VALIDATION_FAILED');
  });
});
