import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

import { AppError, storableString } from '@booking/domain';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';

import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../middleware/problem.ts';

export type AuthMode = 'none' | 'jwt' | 'header';

/** How the API learns who the user is. */
export interface AuthOptions {
  mode: AuthMode;
  /** HS256 secret (jwt mode); exclusive with `jwksUrl`. */
  jwtSecret?: string;
  /** JWKS of RS256/ES256/EdDSA keys (jwt mode). */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** The gateway's header (header mode), default `X-User-Id`. */
  userHeader?: string;
  /** Least time between two fetches of the JWKS when a token names a key it does not hold (ms). */
  jwksCooldownMs?: number;
}

/** Who sent a request: the admin key, a user, or nobody known (always so in `none` mode). */
export type Caller = { kind: 'admin' } | { kind: 'user'; userId: string } | { kind: 'anonymous' };

/** Tokens may be this far past `exp` (or before `nbf`) and still pass: clocks differ. */
const CLOCK_TOLERANCE_SECONDS = 30;
const ASYMMETRIC = ['RS256', 'ES256', 'EdDSA'];
const userIdSchema = storableString().min(1).max(128);

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** A user id the database can store (what a body's userId may be). */
function usableUserId(value: unknown): value is string {
  return userIdSchema.safeParse(value).success;
}

function unauthorized(detail: string): AppError {
  return new AppError('UNAUTHORIZED', detail);
}

/** The bearer token of an Authorization header, if there is one. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  const token = header.slice(space + 1).trim();
  return token === '' ? undefined : token;
}

/** Tells who a request comes from, by the configured mode; the admin key counts in every mode. */
export class Authenticator {
  readonly mode: AuthMode;
  private readonly adminDigest: Buffer;
  private readonly key: Uint8Array | JWTVerifyGetKey | undefined;
  private readonly algorithms: string[];
  private readonly userHeader: string;

  constructor(
    private readonly options: AuthOptions,
    adminKey: string,
  ) {
    this.mode = options.mode;
    this.adminDigest = digest(adminKey);
    this.userHeader = (options.userHeader ?? 'X-User-Id').toLowerCase();
    if (options.mode === 'jwt' && options.jwksUrl) {
      this.key = createRemoteJWKSet(new URL(options.jwksUrl), {
        cooldownDuration: options.jwksCooldownMs ?? 30_000,
        cacheMaxAge: 10 * 60_000,
        timeoutDuration: 5_000,
      });
      // Pinned: a token cannot pick HS256 and have a public key used as its secret.
      this.algorithms = ASYMMETRIC;
    } else if (options.mode === 'jwt') {
      if (!options.jwtSecret || options.jwtSecret.length < 32)
        throw new Error('AUTH_MODE=jwt needs a secret of 32+ characters or a JWKS URL');
      this.key = new TextEncoder().encode(options.jwtSecret);
      this.algorithms = ['HS256'];
    } else {
      this.algorithms = [];
    }
  }

  /** Whether the request carries the admin key as its bearer token (constant-time comparison). */
  isAdmin(headers: IncomingHttpHeaders): boolean {
    const token = bearerToken(headers);
    return token !== undefined && timingSafeEqual(digest(token), this.adminDigest);
  }

  /**
   * The caller of a request. In `jwt` and `header` mode a request without a valid identity (and
   * without the admin key) throws `401 UNAUTHORIZED`; in `none` mode nobody is known: anonymous.
   */
  async identify(headers: IncomingHttpHeaders): Promise<Caller> {
    if (this.isAdmin(headers)) return { kind: 'admin' };
    if (this.mode === 'none') return { kind: 'anonymous' };
    if (this.mode === 'header') {
      const value = headers[this.userHeader];
      const userId = Array.isArray(value) ? undefined : value?.trim();
      if (!usableUserId(userId)) throw unauthorized(`the ${this.options.userHeader ?? 'X-User-Id'} header is missing or invalid`);
      return { kind: 'user', userId };
    }
    const token = bearerToken(headers);
    if (!token) throw unauthorized('a bearer token is required');
    return { kind: 'user', userId: await this.verify(token) };
  }

  private async verify(token: string): Promise<string> {
    try {
      const { payload } = await jwtVerify(token, this.key as JWTVerifyGetKey, {
        algorithms: this.algorithms,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        ...(this.options.audience ? { audience: this.options.audience } : {}),
      });
      if (!usableUserId(payload.sub)) throw unauthorized("the token's sub is not a usable user id");
      return payload.sub;
    } catch (err) {
      if (err instanceof AppError) throw err;
      // The key set could not be had: the token may well be good, so this is ours, not the caller's.
      if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || !(err instanceof errors.JOSEError)) {
        throw new AppError('UNAVAILABLE', 'the token keys cannot be fetched right now', {
          retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
          cause: err,
        });
      }
      throw unauthorized(`the bearer token is not valid (${err.code})`);
    }
  }
}
