import { request } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { exportSPKI, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bearer, jwksServer, signingKey } from './tokens.ts';

// AUTH_MODE=jwt with AUTH_JWKS_URL: public keys from a key set served on 127.0.0.1, rotated mid-test.

let stack: Stack;
let jwks: Awaited<ReturnType<typeof jwksServer>>;
let first: Awaited<ReturnType<typeof signingKey>>;

const me = (token: string) => request(stack.baseUrl, 'GET', '/v1/me/bookings', { headers: bearer(token) });

beforeAll(async () => {
  first = await signingKey('RS256', 'key-1');
  jwks = await jwksServer([first.jwk]);
  // A short cooldown: the test does not wait 30 s for jose to fetch the rotated set.
  stack = await startStack({ workers: 0, api: { auth: { mode: 'jwt', jwksUrl: jwks.url, jwksCooldownMs: 200 } } });
});

afterAll(async () => {
  await stack?.close();
  await jwks?.close();
});

describe('AUTH_MODE=jwt with a JWKS', () => {
  it('accepts an RS256 token signed by a key of the set', async () => {
    const res = await me(await first.sign('alice'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], nextCursor: null });
  });

  it('answers 401 to an HS256 token whose secret is the public key of the set', async () => {
    // The classic confusion: a verifier that let the token pick its algorithm would take the
    // (public) key as an HMAC secret. Tried with the key in both of its usual text forms.
    const pem = await exportSPKI(first.publicKey);
    for (const secret of [pem, JSON.stringify(first.jwk), first.jwk.n!]) {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
        .setSubject('mallory')
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(new TextEncoder().encode(secret));
      const res = await me(token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('answers 401 to a token signed by a key that is not in the set', async () => {
    const stranger = await signingKey('RS256', 'key-1');
    expect((await me(await stranger.sign('mallory'))).status).toBe(401);
  });

  it('picks up a rotated key set: the new key is accepted, the retired one refused', async () => {
    const second = await signingKey('ES256', 'key-2');
    const third = await signingKey('EdDSA', 'key-3');
    jwks.setKeys([second.jwk, third.jwk]);
    const before = jwks.fetches();
    await new Promise((r) => setTimeout(r, 300));
    expect((await me(await second.sign('alice'))).status).toBe(200);
    expect(jwks.fetches()).toBeGreaterThan(before);
    expect((await me(await third.sign('bob'))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await me(await first.sign('alice'))).status).toBe(401);
  });

  it('answers 503 rather than 401 when the key set cannot be fetched', async () => {
    await jwks.close();
    const unknown = await signingKey('RS256', 'key-9');
    await new Promise((r) => setTimeout(r, 300));
    const res = await me(await unknown.sign('alice'));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
  });
});
