import { type Express, type RequestHandler, Router } from 'express';

import type { ApiDeps } from '../deps.ts';
import { requireAdmin } from '../middleware/admin-auth.ts';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

// The dashboard's page asks for web fonts from a public CDN; the policy keeps it to this service.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Runs the dashboard's own Express app and, when it passes a request on (a path it does not serve),
 * hands it back to this app the way `app.use(subApp)` would, so the API's 404 and error answers apply.
 */
function subApp(handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const parent = req.app;
    handler(req, res, (err?: unknown) => {
      Object.setPrototypeOf(req, (parent as Express).request);
      Object.setPrototypeOf(res, (parent as Express).response);
      next(err);
    });
  };
}

/** `/admin/queues`: the queue dashboard, for admins (a browser gets a Basic-auth prompt). */
export function adminQueuesRouter(deps: ApiDeps): Router {
  const router = Router();
  router.use(
    QUEUE_DASHBOARD_PATH,
    requireAdmin(deps.adminKey, { browserChallenge: true, throttle: deps.adminThrottle }),
    async (_req, res, next) => {
      res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      await deps.queueBoard.sync();
      next();
    },
    subApp(deps.queueBoard.handler),
  );
  return router;
}
