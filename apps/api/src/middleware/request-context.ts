import { randomUUID } from 'node:crypto';

import type { Logger } from '@booking/observability';
import type { ApiMetrics } from '@booking/observability';
import type { RequestHandler } from 'express';

const INCOMING_ID = /^[\x21-\x7e]{1,200}$/;
const EVENT_IN_PATH = /^\/v1\/events\/([^/]+)/;

/** The caller's `X-Request-Id` when it is sane, else a new one. */
export function correlationId(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Gives every request a correlation id (the caller's `X-Request-Id` when it is sane, else a new one),
 * echoes it back, and writes one access line (at the `http` level) and one latency observation when the answer is sent.
 * Handlers may add log fields (`eventId`, `requestId`: the booking request's id) to `res.locals.log`.
 * In logs `correlationId` is always the X-Request-Id and `requestId` always a booking request's id.
 */
export function requestContext(logger: Logger, metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const id = correlationId(req.header('x-request-id'));
    res.locals.correlationId = id;
    res.locals.log = {} as Record<string, unknown>;
    res.setHeader('X-Request-Id', id);
    res.on('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      // The route pattern, not the path, keeps the label set bounded.
      // Express types req.route as any: it is the matched Layer's route, whose path is the pattern.
      const matched = req.route as { path: string } | undefined;
      const route = matched ? `${req.baseUrl}${matched.path}` : 'unmatched';
      metrics.httpSeconds.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      // One line per HTTP request only at the `http` level (off by default): on a sale's hot path
      // the metrics count the requests, and a line each would cost more than the request itself.
      if (!logger.isLevelEnabled('http')) return;
      const eventId = EVENT_IN_PATH.exec(req.path)?.[1];
      logger.http('http', {
        correlationId: id,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round(seconds * 100_000) / 100,
        ...(eventId ? { eventId } : {}),
        ...(res.locals.log as Record<string, unknown>),
      });
    });
    next();
  };
}
