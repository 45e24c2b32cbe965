import { isTransientDbError } from '@booking/db';
import { AppError, ERROR_TITLE, type ErrorCode } from '@booking/domain';
import type { Logger } from '@booking/observability';
import { isRedisUnavailableError } from '@booking/queue';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';

/** Seconds a client is told to wait when a dependency is down. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

function typeUri(code: ErrorCode): string {
  return `urn:problem-type:booking:${code.toLowerCase().replaceAll('_', '-')}`;
}

/** Sends an AppError as `application/problem+json`. */
export function sendProblem(res: Response, error: AppError): void {
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  res
    .status(error.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: typeUri(error.code),
        title: ERROR_TITLE[error.code],
        status: error.status,
        detail: error.message,
        code: error.code,
        ...(error.errors ? { errors: error.errors } : {}),
      }),
    );
}

// Error types raised by Express's JSON body parser.
const BODY_PARSER_ERRORS: Record<string, () => AppError> = {
  'entity.too.large': () => new AppError('PAYLOAD_TOO_LARGE', 'the request body is larger than the limit'),
  'entity.parse.failed': () =>
    new AppError('VALIDATION_FAILED', 'the request body is not valid JSON', {
      errors: [{ field: '(body)', message: 'malformed JSON' }],
    }),
  'encoding.unsupported': () => new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported content encoding'),
  'charset.unsupported': () => new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported charset'),
  'request.aborted': () => new AppError('VALIDATION_FAILED', 'the request was aborted'),
};

/** Maps any error to a problem+json answer: contract errors as they are, outages as 503, the rest 500. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof AppError) {
      sendProblem(res, err);
      return;
    }
    const parserType = (err as { type?: unknown }).type;
    const fromParser = typeof parserType === 'string' ? BODY_PARSER_ERRORS[parserType] : undefined;
    if (fromParser) {
      sendProblem(res, fromParser());
      return;
    }
    // Express's router rejects a path it cannot decode (a bad percent-escape) with a 400.
    if (err instanceof URIError || (err as { status?: unknown }).status === 400) {
      sendProblem(
        res,
        new AppError('VALIDATION_FAILED', 'the URL is not valid', {
          errors: [{ field: '(path)', message: 'invalid percent-encoding' }],
        }),
      );
      return;
    }
    if (isTransientDbError(err) || isRedisUnavailableError(err)) {
      logger.warn('dependency unavailable', { path: req.path, error: (err as Error).message });
      sendProblem(
        res,
        new AppError('UNAVAILABLE', 'a dependency is unavailable; try again shortly', {
          retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
        }),
      );
      return;
    }
    logger.error('unhandled error', { path: req.path, error: err instanceof Error ? err.stack : String(err) });
    sendProblem(res, new AppError('INTERNAL', 'an unexpected error occurred'));
  };
}

/** Answers routes nobody serves. */
export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, new AppError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
};
