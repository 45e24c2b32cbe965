import { isDataException, isTransientDbError } from '@booking/db';
import { AppError, ERROR_TITLE, type ErrorCode } from '@booking/domain';
import type { Logger } from '@booking/observability';
import { isRedisUnavailableError } from '@booking/queue';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';

/** Seconds a client is told to wait when a dependency is down. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

function typeUri(code: ErrorCode): string {
  return `urn:problem-type:booking:${code.toLowerCase().replaceAll('_', '-')}`;
}

/** The problem+json document of an AppError. */
export function problemJson(error: AppError): string {
  return JSON.stringify({
    type: typeUri(error.code),
    title: ERROR_TITLE[error.code],
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(error.errors ? { errors: error.errors } : {}),
  });
}

/** The Content-Type of a problem answer (as Express sets it for `type('application/problem+json')`). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** The headers a problem answer carries besides its type: Retry-After, and for a 401 the scheme (RFC 9110). */
export function problemHeaders(error: AppError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
  if (error.status === 401) headers['WWW-Authenticate'] = 'Bearer';
  return headers;
}

/** Sends an AppError as `application/problem+json`. */
export function sendProblem(res: Response, error: AppError): void {
  for (const [name, value] of Object.entries(problemHeaders(error))) {
    // The admin dashboard sets its own WWW-Authenticate (Basic).
    if (!res.hasHeader(name)) res.setHeader(name, value);
  }
  res.status(error.status).type('application/problem+json').send(problemJson(error));
}

/** What a body that is not JSON gets, from body-parser or the fast front alike. */
export function malformedJson(): AppError {
  return new AppError('VALIDATION_FAILED', 'the request body is not valid JSON', {
    errors: [{ field: '(body)', message: 'malformed JSON' }],
  });
}

// Error types raised by Express's JSON body parser.
const BODY_PARSER_ERRORS: Record<string, () => AppError> = {
  'entity.too.large': () => new AppError('PAYLOAD_TOO_LARGE', 'the request body is larger than the limit'),
  'entity.parse.failed': malformedJson,
  'encoding.unsupported': () => new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported content encoding'),
  'charset.unsupported': () => new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported charset'),
  'request.aborted': () => new AppError('VALIDATION_FAILED', 'the request was aborted'),
};

/**
 * The problem+json answer to any error: contract errors as they are, body-parser errors as 400/413/415,
 * values PostgreSQL refused as 400, outages as 503, the rest 500 (logged).
 */
export function problemOf(err: unknown, logger: Logger, path: string): AppError {
  if (err instanceof AppError) return err;
  const parserType = (err as { type?: unknown }).type;
  const fromParser = typeof parserType === 'string' ? BODY_PARSER_ERRORS[parserType] : undefined;
  if (fromParser) return fromParser();
  // Express's router rejects a path it cannot decode (a bad percent-escape) with a 400.
  if (err instanceof URIError || (err as { status?: unknown }).status === 400) {
    return new AppError('VALIDATION_FAILED', 'the URL is not valid', {
      errors: [{ field: '(path)', message: 'invalid percent-encoding' }],
    });
  }
  // PostgreSQL refused a value (SQLSTATE class 22: a NUL byte, a number out of range, ...). The
  // schemas are meant to refuse such input first; one that slips through is still the client's
  // input, so 400, logged so that the gap in validation can be closed.
  if (isDataException(err)) {
    logger.warn('the database refused a value of the request', {
      path,
      code: (err as { code?: string }).code,
      error: (err as Error).message,
    });
    return new AppError('VALIDATION_FAILED', 'the request holds a value that cannot be stored', {
      errors: [{ field: '(request)', message: 'holds a value the database cannot store' }],
    });
  }
  if (isTransientDbError(err) || isRedisUnavailableError(err)) {
    logger.warn('dependency unavailable', { path, error: (err as Error).message });
    return new AppError('UNAVAILABLE', 'a dependency is unavailable; try again shortly', {
      retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
    });
  }
  logger.error('unhandled error', { path, error: err instanceof Error ? err.stack : String(err) });
  return new AppError('INTERNAL', 'an unexpected error occurred');
}

/** Express's error handler: every error becomes a problem+json answer (see problemOf). */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    sendProblem(res, problemOf(err, logger, req.path));
  };
}

/** Answers routes nobody serves. */
export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, new AppError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
};
