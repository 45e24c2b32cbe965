import type { IncomingHttpHeaders } from 'node:http';

import { AppError } from '@booking/domain';
import type { Request } from 'express';

import type { AdminThrottle } from './admin-throttle.ts';
import { type Authenticator, bearerToken, type Caller } from './authenticator.ts';

/** Three base64url parts: what any identity provider's token looks like, whether valid or not. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function throttled(blockedMs: number): AppError {
  return new AppError('RATE_LIMITED', 'too many failed admin-key attempts from this address', {
    retryAfterSeconds: Math.ceil(blockedMs / 1000),
  });
}

/**
 * Who asks. With identities the admin key unlocks every user's data on these routes too, so they
 * are held to the admin throttle: an address over it is refused (also with the right key), and a
 * bearer that is neither the key nor shaped like a token counts as a failed guess of the key.
 */
export async function identifyCaller(
  deps: { auth: Authenticator; adminThrottle: AdminThrottle },
  headers: IncomingHttpHeaders,
  clientAddress: string | undefined,
): Promise<Caller> {
  const { auth, adminThrottle } = deps;
  const token = bearerToken(headers);
  if (auth.mode === 'none' || token === undefined || (!auth.isAdmin(headers) && JWT_SHAPE.test(token))) {
    return auth.identify(headers);
  }
  const address = clientAddress ?? 'unknown';
  const blockedMs = await adminThrottle.blockedForMs(address);
  if (blockedMs > 0) throw throttled(blockedMs);
  if (!auth.isAdmin(headers)) await adminThrottle.failed(address);
  return auth.identify(headers);
}

/** The request's caller, found once per request (a token is verified once however often asked). */
export async function callerOf(deps: { auth: Authenticator; adminThrottle: AdminThrottle }, req: Request): Promise<Caller> {
  const locals = req.res?.locals as { caller?: Promise<Caller> } | undefined;
  if (!locals) return identifyCaller(deps, req.headers, req.ip);
  locals.caller ??= identifyCaller(deps, req.headers, req.ip);
  return locals.caller;
}

/**
 * Whether `caller` may see and change what `ownerId` owns: anyone in `none` mode (no ownership
 * checks, as in the first version), the admin key, and otherwise only the owner.
 */
export function mayAccess(auth: Authenticator, caller: Caller, ownerId: string): boolean {
  if (auth.mode === 'none' || caller.kind === 'admin') return true;
  return caller.kind === 'user' && caller.userId === ownerId;
}

/** The user a booking is made for: the identity, which a body's differing userId may not override. */
export function bookingUser(auth: Authenticator, caller: Caller, bodyUserId: string | undefined): string {
  if (auth.mode === 'none' || caller.kind === 'admin') {
    if (bodyUserId === undefined) {
      throw new AppError('VALIDATION_FAILED', 'the booking request is invalid', { errors: [{ field: 'userId', message: 'is required' }] });
    }
    return bodyUserId;
  }
  if (caller.kind !== 'user') throw new AppError('UNAUTHORIZED', 'an identity is required');
  if (bodyUserId !== undefined && bodyUserId !== caller.userId) {
    throw new AppError('FORBIDDEN', 'userId differs from the identity of the request');
  }
  return caller.userId;
}

/** The caller's user id, for routes about "me": `401` without a user identity. */
export function requireUser(caller: Caller): string {
  if (caller.kind !== 'user') throw new AppError('UNAUTHORIZED', 'this route needs a user identity (AUTH_MODE jwt or header)');
  return caller.userId;
}
