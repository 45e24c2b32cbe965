import { AppError, type FieldProblem, pathParams } from '@booking/domain';
import type { RequestHandler } from 'express';
import type { z } from 'zod';

function problems(error: z.ZodError, field: string): FieldProblem[] {
  return error.issues.flatMap((issue) => {
    // An unknown key is a problem of that key, not of the object holding it.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'unknown field' }));
    }
    return [{ field: issue.path.length > 0 ? issue.path.join('.') : field, message: issue.message }];
  });
}

/**
 * Parses `value` with `schema`, or throws `400 VALIDATION_FAILED` listing each field problem; `field`
 * names the value itself when the problem is not inside it (a header, say).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string, field = '(body)'): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AppError('VALIDATION_FAILED', `the ${what} is invalid`, { errors: problems(result.error, field) });
  }
  return result.data;
}

/** Rejects a request whose body is not declared as JSON with `415`. */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is(['application/json', 'application/*+json'])) {
    next(new AppError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'));
    return;
  }
  next();
};

/** Throws `400 VALIDATION_FAILED` naming the id when an id in the path holds what PostgreSQL cannot store. */
export function checkPathIds(params: Record<string, unknown>): void {
  parseOrThrow(pathParams, params, 'path', '(path)');
}
