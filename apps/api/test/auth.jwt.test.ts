import { createEvent, request } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AUDIENCE, bearer, hsToken, ISSUER, TEST_SECRET, unsignedToken } from './tokens.ts';

// AUTH_MODE=jwt with an HS256 secret: who may submit, and which tokens are refused.

let stack: Stack;
let eventId: string;

beforeAll(async () => {
  stack = await startStack({ api: { auth: { mode: 'jwt', jwtSecret: TEST_SECRET, issuer: ISSUER, audience: AUDIENCE } } });
  eventId = (await createEvent(stack.baseUrl, { capacity: 100 })).id;
});

afterAll(async () => {
  await stack?.close();
});

const submit = (headers: Record<string, string>, json: unknown = { quantity: 1 }) =>
  request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, { json, headers });

function expectUnauthorized(res: { status: number; headers: Headers; body: { code?: string } }): void {
  expect(res.status).toBe(401);
  expect(res.body.code).toBe('UNAUTHORIZED');
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

describe('AUTH_MODE=jwt', () => {
  it("books as the token's sub, without a userId in the body", async () => {
    const res = await submit(bearer(await hsToken('alice')));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ userId: 'alice', quantity: 1, status: 'pending' });
  });

  it('accepts a body userId equal to the identity', async () => {
    const res = await submit(bearer(await hsToken('alice')), { userId: 'alice', quantity: 1 });
    expect(res.status).toBe(202);
  });

  it('answers 403 FORBIDDEN to a body userId that differs from the identity', async () => {
    const res = await submit(bearer(await hsToken('alice')), { userId: 'mallory', quantity: 1 });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
  });

  it('answers 401 without a token, also with a userId in the body', async () => {
    expectUnauthorized(await submit({}, { userId: 'alice', quantity: 1 }));
  });

  it('answers 401 to a forged signature', async () => {
    expectUnauthorized(await submit(bearer(await hsToken('alice', { secret: 'another-secret-that-is-long-enough-000' }))));
  });

  it('answers 401 to a token whose signature was altered', async () => {
    const token = await hsToken('alice');
    // The signature's first character, not its last: the last of 43 base64url characters carries
    // only 4 bits of the 256, so changing it can leave the decoded signature as it was.
    const dot = token.lastIndexOf('.') + 1;
    const altered = token[dot] === 'A' ? 'B' : 'A';
    expectUnauthorized(await submit(bearer(`${token.slice(0, dot)}${altered}${token.slice(dot + 1)}`)));
  });

  it('answers 401 to an expired token (past the 30 s clock tolerance)', async () => {
    const exp = Math.floor(Date.now() / 1000) - 120;
    expectUnauthorized(await submit(bearer(await hsToken('alice', { claims: { exp, iat: exp - 60 } }))));
  });

  it('accepts a token expired within the 30 s clock tolerance', async () => {
    const exp = Math.floor(Date.now() / 1000) - 5;
    expect((await submit(bearer(await hsToken('alice', { claims: { exp, iat: exp - 60 } })))).status).toBe(202);
  });

  it('answers 401 to a token without exp', async () => {
    expectUnauthorized(await submit(bearer(await hsToken('alice', { noExp: true }))));
  });

  it('answers 401 to the wrong audience', async () => {
    expectUnauthorized(await submit(bearer(await hsToken('alice', { claims: { aud: 'another-api' } }))));
  });

  it('answers 401 to the wrong issuer', async () => {
    expectUnauthorized(await submit(bearer(await hsToken('alice', { claims: { iss: 'https://evil.test' } }))));
  });

  it('answers 401 to alg: none', async () => {
    expectUnauthorized(await submit(bearer(unsignedToken('alice'))));
  });

  it('answers 401 to something that is not a JWT at all', async () => {
    expectUnauthorized(await submit(bearer('not-a-token')));
    expectUnauthorized(await submit({ authorization: 'Basic YWxpY2U6cHc=' }));
  });

  it('lets the admin key book for the userId of the body', async () => {
    const res = await request(stack.baseUrl, 'POST', `/v1/events/${eventId}/bookings`, {
      json: { userId: 'bob', quantity: 1 },
      admin: true,
    });
    expect(res.status).toBe(202);
    expect(res.body.userId).toBe('bob');
  });

  it('sets security headers on every answer', async () => {
    for (const path of ['/healthz', `/v1/events/${eventId}`, '/v1/nothing']) {
      const res = await request(stack.baseUrl, 'GET', path);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('content-security-policy'), path).toContain("default-src 'none'");
      expect(res.headers.get('strict-transport-security'), path).toMatch(/max-age=/);
    }
  });
});
