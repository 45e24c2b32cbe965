// HTTP helpers of the tests and the benchmarks. Bodies are parsed JSON whose shape each test asserts;
// `any` keeps those assertions terse.

/** The admin key of the in-process test stack (`startStack`). */
export const ADMIN_KEY = 'test-admin-key-0123456789';

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * Sends a request; the answer's body is parsed JSON when it is JSON, otherwise its raw text (so a
 * wrong answer fails readably). `json` is serialized with `content-type: application/json` unless a
 * content type is given; `admin` sends the stack's admin key.
 */
export async function request<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { json?: unknown; body?: string; headers?: Record<string, string>; admin?: boolean } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  if (options.admin) headers.authorization = `Bearer ${ADMIN_KEY}`;
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** Creates an event through the API and returns it. */
export async function createEvent(
  baseUrl: string,
  event: {
    name?: string;
    capacity: number;
    maxPerUser?: number;
    salesStartAt?: string;
    salesEndAt?: string;
    holdSeconds?: number;
    waitlistLimit?: number;
  },
): Promise<{ id: string; capacity: number; available: number }> {
  const res = await request(baseUrl, 'POST', '/v1/events', { admin: true, json: { name: 'Test event', ...event } });
  if (res.status !== 201) throw new Error(`event creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Submits a booking request; returns the raw answer. */
export function submit(baseUrl: string, eventId: string, userId: string, quantity: number, headers?: Record<string, string>) {
  return request(baseUrl, 'POST', `/v1/events/${eventId}/bookings`, {
    json: { userId, quantity },
    ...(headers ? { headers } : {}),
  });
}

/**
 * Long-polls a request until it is decided (or `maxSeconds` pass), like a well-behaved client: a 503
 * (a dependency briefly unavailable, as on a loaded machine) is retried after its Retry-After.
 */
export async function awaitDecision(baseUrl: string, requestId: string, maxSeconds = 30): Promise<any> {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const res = await request(baseUrl, 'GET', `/v1/booking-requests/${requestId}?wait=10`);
    if (res.status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
      continue;
    }
    if (res.status !== 200) throw new Error(`poll failed: ${res.status} ${JSON.stringify(res.body)}`);
    if (res.body.status !== 'pending' || Date.now() > deadline) return res.body;
  }
}

/** `POST /v1/events` with an admin key of the caller's (a deployment's, a benchmark's); returns the new event's id. */
export async function createEventOver(
  baseUrl: string,
  adminKey: string,
  name: string,
  capacity: number,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await request<{ id: string }>(baseUrl, 'POST', '/v1/events', {
    json: { ...extra, name, capacity },
    headers: { authorization: `Bearer ${adminKey}` },
  });
  if (res.status !== 201) throw new Error(`event creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}
