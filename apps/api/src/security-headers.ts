import type { IncomingMessage, ServerResponse } from 'node:http';

import type { RequestHandler } from 'express';
import helmet from 'helmet';

// Answers are JSON for programs: they may load nothing, and be framed by nobody. The two HTML pages
// (/docs and /admin/queues) set a policy of their own that lets them load their scripts and styles.
const API_POLICY = { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] } };

/**
 * helmet's headers, computed once: they do not depend on the request, and setting a fixed list is
 * cheaper than running helmet's middleware chain on every answer of a sale.
 */
export function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader(name: string, value: string | number | string[]) {
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name];
    },
  } as unknown as ServerResponse;
  let done = false;
  helmet({ contentSecurityPolicy: API_POLICY, frameguard: { action: 'deny' } })({} as IncomingMessage, res, () => {
    done = true;
  });
  if (!done) throw new Error('helmet did not complete synchronously');
  return headers;
}

/** Sets the security headers on every answer (a route may replace one, e.g. its own policy). */
export function securityHeadersMiddleware(headers: Record<string, string>): RequestHandler {
  const entries = Object.entries(headers);
  return (_req, res, next) => {
    for (const [name, value] of entries) res.setHeader(name, value);
    next();
  };
}
