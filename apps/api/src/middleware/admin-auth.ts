import { createHash, timingSafeEqual } from 'node:crypto';

import { AppError } from '@booking/domain';
import type { RequestHandler } from 'express';

import type { AdminThrottle } from '../auth/admin-throttle.ts';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The credential in an Authorization header: a bearer token, or a Basic-auth password. */
function presentedKey(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/**
 * Lets a request through only with the admin key (constant-time comparison). With a throttle, an
 * address that presented too many wrong keys is refused with `429` before its key is even compared.
 */
export function requireAdmin(adminKey: string, options: { browserChallenge?: boolean; throttle?: AdminThrottle } = {}): RequestHandler {
  const expected = digest(adminKey);
  const { throttle } = options;
  return (req, res, next) => {
    const key = presentedKey(req.headers.authorization);
    const address = req.ip ?? 'unknown';
    const decide = (blockedMs: number) => {
      if (blockedMs > 0) {
        throw new AppError('RATE_LIMITED', 'too many failed admin-key attempts from this address', {
          retryAfterSeconds: Math.ceil(blockedMs / 1000),
        });
      }
      if (key !== undefined && timingSafeEqual(digest(key), expected)) return true;
      if (options.browserChallenge) res.setHeader('WWW-Authenticate', 'Basic realm="booking admin"');
      else res.setHeader('WWW-Authenticate', 'Bearer');
      return false;
    };
    const refuse = () => new AppError('UNAUTHORIZED', 'a valid admin bearer token is required');
    if (!throttle || key === undefined) {
      // Nothing presented is no attempt to count (a browser's first request before its login prompt).
      if (decide(0)) next();
      else next(refuse());
      return;
    }
    throttle
      .blockedForMs(address)
      .then(async (blockedMs) => {
        if (decide(blockedMs)) return next();
        await throttle.failed(address);
        next(refuse());
      })
      .catch(next);
  };
}
