import express, { type Express } from 'express';

import type { ApiDeps } from './deps.ts';
import { notFoundHandler, problemHandler } from './middleware/problem.ts';
import { requestContext } from './middleware/request-context.ts';
import { adminQueuesRouter } from './routes/admin-queues.router.ts';
import { bookingRequestsRouter } from './routes/booking-requests.router.ts';
import { bookingsRouter } from './routes/bookings.router.ts';
import { checkoutRouter } from './routes/checkout.router.ts';
import { docsRouter } from './routes/docs.router.ts';
import { eventsRouter } from './routes/events.router.ts';
import { healthRouter } from './routes/health.router.ts';
import { listsRouter } from './routes/lists.router.ts';
import { metricsRouter } from './routes/metrics.router.ts';
import { waitlistRouter } from './routes/waitlist.router.ts';
import { securityHeadersMiddleware } from './security-headers.ts';

/** The Express application: routes, JSON parsing with a size limit, problem+json errors. */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // The client address (per-address limits) from this many proxies' X-Forwarded-For hops.
  app.set('trust proxy', deps.trustProxy);

  app.use(securityHeadersMiddleware(deps.securityHeaders));

  app.use(requestContext(deps.logger, deps.metrics));
  app.use(express.json({ limit: deps.bodyLimitBytes, type: ['application/json', 'application/*+json'] }));

  // The routes a sale's traffic takes come first: every router in front of them costs each request a
  // round of path matching.
  app.use(bookingsRouter(deps));
  app.use(bookingRequestsRouter(deps));
  app.use(listsRouter(deps));
  app.use(checkoutRouter(deps));
  app.use(waitlistRouter(deps));
  app.use(eventsRouter(deps));
  app.use(healthRouter(deps));
  app.use(metricsRouter(deps.registry));
  app.use(docsRouter());
  app.use(adminQueuesRouter(deps));

  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
