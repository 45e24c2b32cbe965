import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

import type { ApiMetrics, Logger } from '@booking/observability';
import type { DecisionHub } from '@booking/queue';

import type { LongPollLimits } from './long-poll-limits.ts';
import { correlationId } from './middleware/request-context.ts';

/** `GET /v1/booking-requests/<id>?wait=<1..30>`, nothing else in the query. */
const LONG_POLL = /^\/v1\/booking-requests\/([A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64})\?wait=([1-9]|[12][0-9]|30)$/;

/** Longest a long-poll waits here before handing the rest of its wait to the full route (which reads again). */
const SEGMENT_MS = 5_000;

const ROUTE = '/v1/booking-requests/:requestId';

/**
 * A front for the HTTP server: the long-polls of booking requests this process queued itself, the
 * bulk of a sale's requests, are held without Express, whose per-request machinery costs about as
 * much memory as the rest of a held request together (the throughput benchmark holds 10,000 of them
 * on one process). What this process knows answers them: a decision it has kept, or the decision
 * message it waits for. Everything else, and whatever happens beyond the first segment of a wait (a
 * timeout, a reconnect, shutdown), goes to `app` with the wait that is left, where the full route
 * reads the records and answers errors as problem+json.
 *
 * With identities (`enabled` false: `AUTH_MODE` jwt or header) every request goes to `app`, which
 * checks who asks and whose request it is. A held long-poll counts against the per-process bound.
 */
export function withFastLongPolls(
  app: RequestListener,
  deps: {
    hub: DecisionHub;
    metrics: ApiMetrics;
    logger: Logger;
    longPolls: LongPollLimits;
    headers: Record<string, string>;
    enabled: boolean;
  },
): RequestListener & { app: RequestListener } {
  if (!deps.enabled) return Object.assign(((req, res) => app(req, res)) as RequestListener, { app });
  const send = (req: IncomingMessage, res: ServerResponse, started: number, body: unknown) => {
    const json = JSON.stringify(body);
    res.writeHead(200, {
      ...deps.headers,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(json),
      'X-Request-Id': correlationId(req.headers['x-request-id']),
    });
    res.end(json);
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.httpSeconds.observe({ method: 'GET', route: ROUTE, status: '200' }, seconds);
    if (deps.logger.isLevelEnabled('http'))
      deps.logger.http('http', { method: 'GET', path: req.url, status: 200, durationMs: Math.round(seconds * 1000) });
  };

  const front: RequestListener = (req, res) => {
    const match = req.method === 'GET' && req.url ? LONG_POLL.exec(req.url) : null;
    const known = match ? deps.hub.known(match[1]!) : undefined;
    if (!match || !known) {
      app(req, res);
      return;
    }
    const started = performance.now();
    if (known.state === 'decided') {
      // A waitlisted request waits for its next change: the full route does that.
      const view = known.message.type === 'decisions' ? known.message.requests[0] : undefined;
      if (view && view.status !== 'waitlisted') send(req, res, started, view);
      else app(req, res);
      return;
    }
    const requestId = match[1]!;
    // Over the bound: the full route answers (503 with Retry-After, as long as it stays over).
    const release = deps.longPolls.tryAcquire();
    if (!release) {
      app(req, res);
      return;
    }
    const deadline = Date.now() + Number(match[2]) * 1000;
    const waiter = deps.hub.register(requestId, Math.min(deadline - Date.now(), SEGMENT_MS));
    const gone = () => waiter.cancel();
    res.once('close', gone);
    void waiter.result.then((outcome) => {
      release();
      res.off('close', gone);
      if (res.destroyed || res.writableEnded) return;
      const decided = outcome.kind === 'message' && outcome.message.type === 'decisions' ? outcome.message.requests[0] : undefined;
      if (decided) {
        send(req, res, started, decided);
        return;
      }
      // The rest of the wait, if any, with a fresh read of the records.
      const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      req.url = `/v1/booking-requests/${requestId}?wait=${left}`;
      app(req, res);
    });
  };
  // The app behind the front, for whoever needs to look at its routes (the route-coverage tests).
  return Object.assign(front, { app });
}
