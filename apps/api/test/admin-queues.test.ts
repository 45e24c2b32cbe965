import { eventQueueName } from '@booking/queue';
import { basicAuth, createEvent, expectProblem, request, submit } from '@booking/test-support';
import { ADMIN_KEY, type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// No worker: booking requests stay waiting in their queues, where the dashboard can count them.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 0 });
});
afterAll(async () => {
  await stack.close();
});

const asAdmin = { authorization: basicAuth(ADMIN_KEY) };

interface ShownQueue {
  name: string;
  displayName: string;
  readOnlyMode: boolean;
  counts: Record<string, number>;
}

async function shownQueues(): Promise<ShownQueue[]> {
  const res = await request(stack.baseUrl, 'GET', '/admin/queues/api/queues', { headers: asAdmin });
  expect(res.status).toBe(200);
  return (res.body as { queues: ShownQueue[] }).queues;
}

/** The dashboard's entry for the event's queue, waiting out the board's event-list cache. */
async function queueOf(eventId: string, timeoutMs = 15_000): Promise<ShownQueue | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = (await shownQueues()).find((q) => q.name === eventQueueName(eventId));
    if (shown || Date.now() > deadline) return shown;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('/admin/queues', () => {
  it('answers 401 with a Basic-auth challenge without credentials, so a browser asks to log in', async () => {
    const res = await request(stack.baseUrl, 'GET', '/admin/queues');
    expectProblem(res, 401, 'UNAUTHORIZED');
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"$/);
  });

  it('answers 401 to a wrong Basic-auth password', async () => {
    const res = await request(stack.baseUrl, 'GET', '/admin/queues', { headers: { authorization: basicAuth('not-the-key') } });
    expectProblem(res, 401, 'UNAUTHORIZED');
  });

  it("answers 401 to the dashboard's JSON calls and assets without credentials", async () => {
    for (const path of ['/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png']) {
      expectProblem(await request(stack.baseUrl, 'GET', path), 401, 'UNAUTHORIZED');
    }
  });

  it('shows the dashboard page with the admin key as the Basic-auth password (any user name)', async () => {
    const res = await fetch(`${stack.baseUrl}/admin/queues`, { headers: { authorization: basicAuth(ADMIN_KEY, 'anyone') } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<base href="/admin/queues/"');
  });

  it('shows the dashboard page with the admin key as a bearer token', async () => {
    const res = await fetch(`${stack.baseUrl}/admin/queues`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(res.status).toBe(200);
  });

  it('keeps the page to this service: its policy blocks the web fonts it would load from a CDN', async () => {
    const res = await fetch(`${stack.baseUrl}/admin/queues`, { headers: asAdmin });
    const policy = res.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'self'");
    expect(policy).toMatch(/font-src 'self' data:(;|$)/);
    expect(policy).toMatch(/style-src 'self' 'unsafe-inline'(;|$)/);
  });

  it('lists the queue of an event with its waiting booking request, read-only', async () => {
    const event = await createEvent(stack.baseUrl, { name: 'Dashboard listing', capacity: 5 });
    expect((await submit(stack.baseUrl, event.id, 'u1', 1)).status).toBe(202);
    const shown = await queueOf(event.id);
    expect(shown).toMatchObject({ displayName: `Dashboard listing (${event.id})`, readOnlyMode: true });
    expect(shown!.counts.waiting).toBe(1);
  });

  it('lists an event created after the dashboard was last looked at', async () => {
    await shownQueues();
    const later = await createEvent(stack.baseUrl, { name: 'Created later', capacity: 1 });
    expect(await queueOf(later.id)).toMatchObject({ name: eventQueueName(later.id) });
  });

  it('refuses to change a queue: emptying it answers 405 and leaves the request waiting', async () => {
    const event = await createEvent(stack.baseUrl, { name: 'Hands off', capacity: 5 });
    expect((await submit(stack.baseUrl, event.id, 'u1', 1)).status).toBe(202);
    expect(await queueOf(event.id)).toBeDefined();
    const name = encodeURIComponent(eventQueueName(event.id));
    const res = await request(stack.baseUrl, 'PUT', `/admin/queues/api/queues/${name}/empty`, { headers: asAdmin });
    expect(res.status).toBe(405);
    expect((await queueOf(event.id))!.counts.waiting).toBe(1);
  });
});
