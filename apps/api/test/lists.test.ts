import { createEvent, request } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// GET /v1/events (public) and GET /v1/me/bookings (here with AUTH_MODE=header): newest first,
// cursor-paged, stable while items are added.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ api: { auth: { mode: 'header', userHeader: 'X-User-Id' } } });
});

afterAll(async () => {
  await stack?.close();
});

/** Follows `nextCursor` from the first page to the last; calls `between` after each page. */
async function allPages(path: string, limit: number, headers: Record<string, string> = {}, between?: () => Promise<void>) {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const query: string = `?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await request(stack.baseUrl, 'GET', `${path}${query}`, { headers });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    pages.push(res.body.items.map((i: { id: string }) => i.id));
    cursor = res.body.nextCursor;
    await between?.();
  } while (cursor);
  return pages;
}

describe('GET /v1/events', () => {
  it('pages newest first, each event once, also while events are created', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createEvent(stack.baseUrl, { name: `Listed ${i}`, capacity: 1 })).id);
    const added: string[] = [];
    const pages = await allPages('/v1/events', 2, {}, async () => {
      if (added.length < 2) added.push((await createEvent(stack.baseUrl, { name: 'Added meanwhile', capacity: 1 })).id);
    });
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    // The events that existed when paging began, newest first; the ones added meanwhile are newer.
    expect(pages.flat()).toEqual([...created].reverse());
    const again = (await request(stack.baseUrl, 'GET', '/v1/events?limit=100')).body.items.map((e: { id: string }) => e.id);
    expect(again).toEqual([...added.reverse(), ...[...created].reverse()]);
  });

  it('defaults to 20 per page', async () => {
    for (let i = 0; i < 16; i++) await createEvent(stack.baseUrl, { capacity: 1 });
    const res = await request(stack.baseUrl, 'GET', '/v1/events');
    expect(res.body.items).toHaveLength(20);
    expect(typeof res.body.nextCursor).toBe('string');
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=not-a-cursor!', 'cursor'],
    [`cursor=${Buffer.from('yesterday|x').toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from('2030-02-30 00:00:00+00|Xk2f9QvLr0aB7cD1eF3gHw').toString('base64url')}`, 'cursor'],
    ['page=2', 'page'],
  ])('answers 400 VALIDATION_FAILED to %s', async (query, field) => {
    const res = await request(stack.baseUrl, 'GET', `/v1/events?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });
});

describe('GET /v1/me/bookings', () => {
  it('answers 401 without an identity', async () => {
    const res = await request(stack.baseUrl, 'GET', '/v1/me/bookings');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
  });

  it("pages the caller's bookings newest first", async () => {
    const event = await createEvent(stack.baseUrl, { capacity: 10 });
    const carol = { 'X-User-Id': 'carol' };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const accepted = await request(stack.baseUrl, 'POST', `/v1/events/${event.id}/bookings`, { json: { quantity: 1 }, headers: carol });
      expect(accepted.status).toBe(202);
      expect(accepted.body.userId).toBe('carol');
      const polled = await request(stack.baseUrl, 'GET', `/v1/booking-requests/${accepted.body.requestId}?wait=20`, { headers: carol });
      ids.push(polled.body.bookingId);
    }
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect((await allPages('/v1/me/bookings', 2, carol)).flat()).toEqual([...ids].reverse());
    expect((await request(stack.baseUrl, 'GET', '/v1/me/bookings', { headers: { 'X-User-Id': 'dave' } })).body.items).toEqual([]);
  });

  it('answers 400 to a bad cursor', async () => {
    const res = await request(stack.baseUrl, 'GET', '/v1/me/bookings?cursor=%%%', { headers: { 'X-User-Id': 'carol' } });
    expect(res.status).toBe(400);
  });
});
