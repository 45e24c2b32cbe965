/** Every problem code the public contract names, with its HTTP status. */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  EVENT_NOT_FOUND: 404,
  REQUEST_NOT_FOUND: 404,
  BOOKING_NOT_FOUND: 404,
  NOT_FOUND: 404,
  SOLD_OUT: 409,
  SALES_NOT_OPEN: 409,
  SALES_CLOSED: 409,
  HOLD_EXPIRED: 409,
  BOOKING_CANCELLED: 409,
  NOT_WAITLISTED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** One problem with one field of a request, as listed in a `VALIDATION_FAILED` answer. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** An expected failure with a contract code; the HTTP layer turns it into problem+json. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldProblem[] | undefined;
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: { errors?: FieldProblem[]; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.errors = options.errors;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Short human titles for problem+json answers. */
export const ERROR_TITLE: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'Request validation failed',
  UNAUTHORIZED: 'Credentials required',
  FORBIDDEN: 'Forbidden',
  EVENT_NOT_FOUND: 'Event not found',
  REQUEST_NOT_FOUND: 'Booking request not found',
  BOOKING_NOT_FOUND: 'Booking not found',
  NOT_FOUND: 'Route not found',
  SOLD_OUT: 'Sold out',
  SALES_NOT_OPEN: 'Sales have not opened yet',
  SALES_CLOSED: 'Sales are closed',
  HOLD_EXPIRED: 'The hold has expired',
  BOOKING_CANCELLED: 'The booking is cancelled',
  NOT_WAITLISTED: 'The request is not on the waiting list',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency key reused with another body',
  RATE_LIMITED: 'Too many requests',
  INTERNAL: 'Internal error',
  UNAVAILABLE: 'Service temporarily unavailable',
};
