import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

// Tokens and key sets for the identity tests: real signatures, made with jose as an issuer would.

export const TEST_SECRET = 'identity-test-secret-of-at-least-32-chars';
export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'booking-api';

/** An HS256 token for `sub`, valid for a minute unless `claims` say otherwise (`exp: undefined` drops it). */
export async function hsToken(sub: string, options: { secret?: string; claims?: JWTPayload; noExp?: boolean } = {}): Promise<string> {
  const jwt = new SignJWT({ iss: ISSUER, aud: AUDIENCE, ...options.claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt();
  if (!options.noExp && options.claims?.exp === undefined) jwt.setExpirationTime('1m');
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}

/** An unsecured token (`alg: none`, empty signature) claiming `sub`. */
export function unsignedToken(sub: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 })}.`;
}

/** A signing key pair with its public JWK (`kid` set). */
export async function signingKey(alg: 'RS256' | 'ES256' | 'EdDSA', kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    jwk,
    publicKey,
    sign: (sub: string) =>
      new SignJWT({}).setProtectedHeader({ alg, kid }).setSubject(sub).setIssuedAt().setExpirationTime('1m').sign(privateKey),
  };
}

/** A JWKS endpoint on 127.0.0.1 whose key set the test can replace (a rotation). */
export async function jwksServer(
  initial: JWK[],
): Promise<{ url: string; setKeys(keys: JWK[]): void; fetches: () => number; close(): Promise<void> }> {
  let keys = initial;
  let fetches = 0;
  const server: Server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    setKeys(next) {
      keys = next;
    },
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An Authorization header with a bearer token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
