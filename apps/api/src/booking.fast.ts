import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

import type { AppError } from '@booking/domain';

import { identifyCaller } from './auth/caller.ts';
import { type BookingPostAnswer, bookingRequestLocation, postBooking } from './booking-post.ts';
import type { ApiDeps } from './deps.ts';
import { malformedJson, PROBLEM_CONTENT_TYPE, problemHeaders, problemJson, problemOf } from './middleware/problem.ts';
import { correlationId as correlationIdOf } from './middleware/request-context.ts';

/** `POST /v1/events/<id>/bookings` with an id of plain characters (no percent-escapes) and no query. */
const BOOKING_POST = /^\/v1\/events\/([A-Za-z0-9_-]{1,64})\/bookings$/;

/** JSON (`application/json` or `application/*+json`), in UTF-8 if a charset is named at all. */
const PLAIN_JSON = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json\s*(?:;\s*charset\s*=\s*(?:utf-8|"utf-8")\s*)?$/i;

const ROUTE = '/v1/events/:eventId/bookings';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * A front for the HTTP server that serves booking submissions with a plain JSON body without
 * Express: the bulk of a sale's requests, and the ones that must be answered fastest. Profiled at
 * the door of a sold-out event, Express's routing, body parsing and response helpers cost about
 * three times the rest of such a request. The answers are the same as the route's, from the same
 * `postBooking`, with the same identities (AUTH_MODE); whatever is not plain (another media type, a
 * compressed or chunked body, a body over the limit or empty, percent-escapes in the path, a
 * forwarded address to work out) goes to `next`, where the Express route (or its error handling)
 * answers it.
 */
export function withFastBookings(
  next: RequestListener & { app?: RequestListener },
  deps: ApiDeps,
): RequestListener & { app?: RequestListener } {
  const { metrics, logger } = deps;

  const finish = (
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    status: number,
    headers: Record<string, string | number>,
    json: string,
    bookingRequestId?: string,
  ) => {
    headers['Content-Length'] = Buffer.byteLength(json);
    res.writeHead(status, headers);
    res.end(json);
    const seconds = (performance.now() - started) / 1000;
    const code = String(status);
    metrics.submissionSeconds.observe({ status: code }, seconds);
    metrics.httpSeconds.observe({ method: 'POST', route: ROUTE, status: code }, seconds);
    if (logger.isLevelEnabled('http')) {
      logger.http('http', {
        correlationId: headers['X-Request-Id'],
        method: 'POST',
        path: req.url,
        status,
        durationMs: Math.round(seconds * 100_000) / 100,
        eventId: BOOKING_POST.exec(req.url ?? '')?.[1],
        ...(bookingRequestId ? { requestId: bookingRequestId } : {}),
      });
    }
  };

  const answer = (req: IncomingMessage, res: ServerResponse, started: number, correlationId: string, result: BookingPostAnswer) => {
    if (result.status === 'gone' || res.destroyed || res.writableEnded) return;
    if (result.status === 409) {
      problem(req, res, started, correlationId, result.error);
      return;
    }
    const headers: Record<string, string | number> = {
      ...deps.securityHeaders,
      'X-Request-Id': correlationId,
      Location: bookingRequestLocation(result.requestId),
      'Content-Type': JSON_CONTENT_TYPE,
    };
    if (result.preferenceApplied) headers['Preference-Applied'] = result.preferenceApplied;
    finish(req, res, started, result.status, headers, JSON.stringify(result.body), result.requestId);
  };

  const problem = (req: IncomingMessage, res: ServerResponse, started: number, correlationId: string, error: AppError) => {
    if (res.destroyed || res.writableEnded) return;
    const headers: Record<string, string | number> = {
      ...deps.securityHeaders,
      ...problemHeaders(error),
      'X-Request-Id': correlationId,
      'Content-Type': PROBLEM_CONTENT_TYPE,
    };
    finish(req, res, started, error.status, headers, problemJson(error));
  };

  const front: RequestListener = (req, res) => {
    const match = req.method === 'POST' && req.url ? BOOKING_POST.exec(req.url) : null;
    const type = req.headers['content-type'];
    const length = Number(req.headers['content-length']);
    if (
      !match ||
      // A client address behind trusted proxies is Express's to work out (X-Forwarded-For).
      (deps.trustProxy > 0 && req.headers['x-forwarded-for'] !== undefined) ||
      type === undefined ||
      !PLAIN_JSON.test(type) ||
      req.headers['content-encoding'] !== undefined ||
      req.headers['transfer-encoding'] !== undefined ||
      !(length > 0 && length <= deps.bodyLimitBytes)
    ) {
      next(req, res);
      return;
    }
    const started = performance.now();
    const correlationId = correlationIdOf(req.headers['x-request-id']);
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // More than the declared length cannot arrive over HTTP/1.1 (the parser stops at it); kept as a guard.
      if (received <= deps.bodyLimitBytes) chunks.push(chunk);
    });
    req.once('end', () => {
      let body: unknown;
      try {
        const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
        // As body-parser's strict mode: only an object or an array is a JSON body.
        const first = /\S/.exec(text)?.[0];
        if (received > deps.bodyLimitBytes || (first !== '{' && first !== '[')) throw malformedJson();
        body = JSON.parse(text);
      } catch {
        problem(req, res, started, correlationId, malformedJson());
        return;
      }
      const clientAddress = req.socket.remoteAddress;
      // Who asks comes first (AUTH_MODE jwt or header): without an identity nothing else is told.
      const caller = deps.auth.mode === 'none' ? Promise.resolve(undefined) : identifyCaller(deps, req.headers, clientAddress);
      caller
        .then((who) =>
          postBooking(deps, {
            eventId: match[1]!,
            body,
            caller: who,
            clientAddress,
            idempotencyKey: req.headers['idempotency-key'] as string | undefined,
            prefer: req.headers.prefer as string | undefined,
            correlationId,
            clientGone: () => new Promise<void>((resolve) => res.once('close', () => resolve())),
            onClose: (fn) => res.once('close', fn),
          }),
        )
        .then(
          (result) => answer(req, res, started, correlationId, result),
          (err: unknown) => problem(req, res, started, correlationId, problemOf(err, logger, req.url ?? ROUTE)),
        );
    });
    // A client that goes away mid-body: nothing to answer.
    req.once('error', () => res.destroy());
  };
  // The app behind the fronts, for whoever needs to look at its routes (the route-coverage tests).
  return next.app ? Object.assign(front, { app: next.app }) : front;
}
