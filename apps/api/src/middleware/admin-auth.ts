import { createHash, timingSafeEqual } from 'node:crypto';

import { AppError } from '@booking/domain';
import type { RequestHandler } from 'express';

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

/** Lets a request through only with the admin key (constant-time comparison). */
export function requireAdmin(adminKey: string, options: { browserChallenge?: boolean } = {}): RequestHandler {
  const expected = digest(adminKey);
  return (req, res, next) => {
    const key = presentedKey(req.headers.authorization);
    if (key !== undefined && timingSafeEqual(digest(key), expected)) {
      next();
      return;
    }
    if (options.browserChallenge) res.setHeader('WWW-Authenticate', 'Basic realm="booking admin"');
    else res.setHeader('WWW-Authenticate', 'Bearer');
    next(new AppError('UNAUTHORIZED', 'a valid admin bearer token is required'));
  };
}
