import { AppError, type FieldProblem } from '@booking/domain';
import type { RequestHandler } from 'express';
import type { z } from 'zod';

function problems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : '(body)',
    message: issue.message,
  }));
}

/** Parses `value` with `schema`, or throws `400 VALIDATION_FAILED` listing each field problem. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AppError('VALIDATION_FAILED', `the ${what} is invalid`, { errors: problems(result.error) });
  }
  return result.data;
}

/** Rejects a request whose body is not declared as JSON with `415`. */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is('application/json')) {
    next(new AppError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'));
    return;
  }
  next();
};
