import express, { type Express } from 'express';

import type { ApiDeps } from './deps.ts';
import { notFoundHandler, problemHandler } from './middleware/problem.ts';
import { bookingRequestsRouter } from './routes/booking-requests.router.ts';
import { bookingsRouter } from './routes/bookings.router.ts';
import { eventsRouter } from './routes/events.router.ts';
import { healthRouter } from './routes/health.router.ts';

/** The Express application: routes, JSON parsing with a size limit, problem+json errors. */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      deps.logger.http('request', {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });
    });
    next();
  });
  app.use(express.json({ limit: deps.bodyLimitBytes, type: ['application/json', 'application/*+json'] }));

  app.use(healthRouter(deps));
  app.use(eventsRouter(deps));
  app.use(bookingsRouter(deps));
  app.use(bookingRequestsRouter(deps));

  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
