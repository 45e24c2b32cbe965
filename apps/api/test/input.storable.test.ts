import { awaitDecision, createEvent, expectFieldProblem, expectProblem, request, rowCounts, unknownId } from '@booking/test-support';
import { ADMIN_KEY, type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// PostgreSQL stores neither the NUL character (in text or jsonb) nor unpaired UTF-16 surrogates
// (jsonb refuses them; text would silently get U+FFFD instead). Every string the API takes is refused
// at the door when it holds one, and every number fits its column: bad input answers 400, never 202
// (a request that could never be decided) and never 500.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

const HOSTILE: [string, string][] = [
  ['a NUL character', 'a\u0000b'],
  ['only a NUL character', '\u0000'],
  ['a lone high surrogate', '\ud800'],
  ['a lone low surrogate', 'x\udfffy'],
  ['two surrogates in the wrong order', '\udc00\ud800'],
  ['a high surrogate at the end', 'abc\udbff'],
];

const createEventRaw = (json: unknown) =>
  request(stack.baseUrl, 'POST', '/v1/events', { json, headers: { authorization: `Bearer ${ADMIN_KEY}` } });

const book = (eventId: string, json: unknown) => request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, { json });

async function journalRows(): Promise<number> {
  const row = await stack.db
    .selectFrom('accepted_requests')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('POST /v1/events with text or numbers PostgreSQL cannot store', () => {
  it.each(HOSTILE)('answers 400 naming `name` when it holds %s', async (_case, name) => {
    expectFieldProblem(await createEventRaw({ name, capacity: 10 }), 'name');
  });

  it.each([
    ['maxPerUser is 2147483648 (past int32)', { name: 'E', capacity: 10, maxPerUser: 2_147_483_648 }, 'maxPerUser'],
    ['maxPerUser is 2147483647', { name: 'E', capacity: 10, maxPerUser: 2_147_483_647 }, 'maxPerUser'],
    ['maxPerUser is larger than capacity', { name: 'E', capacity: 10, maxPerUser: 11 }, 'maxPerUser'],
    ['maxPerUser is 1e300', { name: 'E', capacity: 10, maxPerUser: 1e300 }, 'maxPerUser'],
    ['capacity is 2147483648', { name: 'E', capacity: 2_147_483_648 }, 'capacity'],
    ['capacity is -2147483649', { name: 'E', capacity: -2_147_483_649 }, 'capacity'],
  ])('answers 400 naming the field when %s', async (_case, body, field) => {
    expectFieldProblem(await createEventRaw(body), field);
  });

  it('writes no event for any of them', async () => {
    const before = await rowCounts(stack.db);
    const answers = await Promise.all([
      createEventRaw({ name: 'a\u0000b', capacity: 10 }),
      createEventRaw({ name: '\ud800', capacity: 10 }),
      createEventRaw({ name: 'E', capacity: 10, maxPerUser: 2_147_483_648 }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([400, 400, 400]);
    expect(await rowCounts(stack.db)).toEqual(before);
  });

  it('accepts a name with characters outside the BMP (well-formed surrogate pairs) and maxPerUser equal to capacity', async () => {
    const res = await createEventRaw({ name: 'Gig 🎸 𝄞', capacity: 3, maxPerUser: 3 });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ name: 'Gig 🎸 𝄞', capacity: 3, maxPerUser: 3 });
    const read = await request(stack.baseUrl, 'GET', `/v1/events/${res.body.id}`);
    expect(read.body.name).toBe('Gig 🎸 𝄞');
  });
});

describe('POST /v1/events/:eventId/bookings with a userId PostgreSQL cannot store', () => {
  let eventId: string;
  beforeAll(async () => {
    eventId = (await createEvent(stack.baseUrl, { capacity: 100 })).id;
  });

  it.each(HOSTILE)('answers 400 naming `userId` when it holds %s', async (_case, userId) => {
    expectFieldProblem(await book(eventId, { userId, quantity: 1 }), 'userId');
  });

  it('answers 400 for the body of the report, {"userId":"\\u0000","quantity":1}, sent as raw JSON', async () => {
    const res = await request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, {
      body: '{"userId":"\\u0000","quantity":1}',
      headers: { 'content-type': 'application/json' },
    });
    expectFieldProblem(res, 'userId');
  });

  it('answers 400 naming `quantity` when it is past int32', async () => {
    expectFieldProblem(await book(eventId, { userId: 'big', quantity: 2_147_483_648 }), 'quantity');
  });

  it('queues and journals nothing for them', async () => {
    const before = { rows: await rowCounts(stack.db, eventId), journal: await journalRows() };
    const answers = await Promise.all(HOSTILE.map(([, userId]) => book(eventId, { userId, quantity: 1 })));
    expect(answers.map((r) => r.status)).toEqual(HOSTILE.map(() => 400));
    // A good request sent after them is decided: nothing of theirs is in the event's queue.
    const good = await book(eventId, { userId: 'after-hostile', quantity: 1 });
    expect(good.status).toBe(202);
    expect((await awaitDecision(stack.baseUrl, good.body.requestId, 30)).status).toBe('confirmed');
    expect(await rowCounts(stack.db, eventId)).toEqual({
      events: 1,
      booking_requests: before.rows.booking_requests + 1,
      bookings: before.rows.bookings + 1,
    });
    expect(await journalRows()).toBeLessThanOrEqual(before.journal);
  });

  it('accepts and decides a userId with characters outside the BMP', async () => {
    const res = await book(eventId, { userId: 'user-🎟️-𝄞', quantity: 1 });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const decided = await awaitDecision(stack.baseUrl, res.body.requestId, 30);
    expect(decided).toMatchObject({ status: 'confirmed', userId: 'user-🎟️-𝄞' });
  });
});

describe('ids in the path that PostgreSQL cannot store', () => {
  const routes: [string, (id: string) => string, string, unknown?][] = [
    ['GET', (id) => `/v1/events/${id}`, 'eventId'],
    ['POST', (id) => `/v1/events/${id}/bookings`, 'eventId', { userId: 'u', quantity: 1 }],
    ['GET', (id) => `/v1/booking-requests/${id}`, 'requestId'],
    ['GET', (id) => `/v1/bookings/${id}`, 'bookingId'],
    ['POST', (id) => `/v1/bookings/${id}/cancel`, 'bookingId'],
  ];
  const ids: [string, string][] = [
    ['a NUL character', '%00'],
    ['a NUL character inside an id of the right length', `${unknownId().slice(0, 10)}%00${unknownId().slice(0, 11)}`],
  ];
  const cases = routes.flatMap(([method, path, field, json]) =>
    ids.map(([what, id]) => [`${method} ${path(':id')}`, what, method, path(id), field, json] as const),
  );
  it.each(cases)('%s answers 400 naming the id when it holds %s', async (_route, _what, method, path, field, json) => {
    const res = await request(stack.baseUrl, method, path, json === undefined ? {} : { json });
    expectFieldProblem(res, field);
  });

  it('a booking request id whose event part holds a NUL character answers 400 too', async () => {
    const res = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${unknownId()}%00.${unknownId()}?wait=1`);
    expectFieldProblem(res, 'requestId');
  });

  it('an id that is percent-encoded UTF-8 of a surrogate (not valid UTF-8) answers 400', async () => {
    expectProblem(await request(stack.baseUrl, 'GET', '/v1/events/%ED%A0%80'), 400, 'VALIDATION_FAILED');
  });
});

describe('headers and the query', () => {
  let eventId: string;
  beforeAll(async () => {
    eventId = (await createEvent(stack.baseUrl, { capacity: 10 })).id;
  });

  it.each([
    ['a tab', 'key\tkey'],
    ['a byte past ASCII', 'key\u00ff'],
  ])('an Idempotency-Key with %s answers 400 naming the header', async (_case, key) => {
    const res = await request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, {
      json: { userId: 'keyed', quantity: 1 },
      headers: { 'idempotency-key': key },
    });
    expectFieldProblem(res, 'Idempotency-Key');
  });

  it.each([['%00'], ['2147483648'], ['1e400']])('?wait=%s answers 400 naming `wait`', async (wait) => {
    const res = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${unknownId()}.${unknownId()}?wait=${wait}`);
    expectFieldProblem(res, 'wait');
  });
});
