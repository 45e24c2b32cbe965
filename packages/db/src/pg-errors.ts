/** Postgres error codes this project reacts to. */
export const PgErrorCode = {
  UNIQUE_VIOLATION: '23505',
  CHECK_VIOLATION: '23514',
  FOREIGN_KEY_VIOLATION: '23503',
  SERIALIZATION_FAILURE: '40001',
  DEADLOCK_DETECTED: '40P01',
  ADMIN_SHUTDOWN: '57P01',
  CRASH_SHUTDOWN: '57P02',
  CANNOT_CONNECT_NOW: '57P03',
  QUERY_CANCELED: '57014',
  TOO_MANY_CONNECTIONS: '53300',
  /** Raised by the decision functions when a worker's lease epoch is stale (it was fenced off). */
  STALE_LEASE: 'BK409',
} as const;

/**
 * A decision was refused because the worker's lease epoch is stale: another worker has taken the
 * event over (the decision functions raise SQLSTATE BK409). Thrown by the repositories, so callers
 * in other packages tell it apart by class, not by code.
 */
export class StaleLeaseError extends Error {
  override readonly name = 'StaleLeaseError';

  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : 'lease epoch is stale', { cause });
  }
}

/** Runs a query of a fenced decision function; a stale epoch comes out as a StaleLeaseError. */
export async function fenced<T>(query: Promise<T>): Promise<T> {
  try {
    return await query;
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code === PgErrorCode.STALE_LEASE) throw new StaleLeaseError(err);
    throw err;
  }
}

const TRANSIENT_CODES = new Set<string>([
  PgErrorCode.SERIALIZATION_FAILURE,
  PgErrorCode.DEADLOCK_DETECTED,
  PgErrorCode.ADMIN_SHUTDOWN,
  PgErrorCode.CRASH_SHUTDOWN,
  PgErrorCode.CANNOT_CONNECT_NOW,
  PgErrorCode.QUERY_CANCELED,
  PgErrorCode.TOO_MANY_CONNECTIONS,
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether an error means the database is (for now) unreachable or overloaded, so the operation may
 * succeed if tried again later: the API answers 503, the worker retries.
 */
export function isTransientDbError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || NETWORK_CODES.has(code) || code.startsWith('08'))) {
    return true;
  }
  const message = err.message;
  return (
    message.includes('timeout exceeded when trying to connect') ||
    message.includes('Connection terminated') ||
    message.includes('Client has encountered a connection error') ||
    message.includes('connect ECONNREFUSED')
  );
}

/** SQLSTATE classes (the first two characters of a code) this project reacts to. */
export const PgErrorClass = {
  /** A value the database cannot take: bad encoding (a NUL), out of range, invalid text representation, ... */
  DATA_EXCEPTION: '22',
  /** A constraint refused the row: CHECK, NOT NULL, UNIQUE, foreign key. */
  INTEGRITY_CONSTRAINT_VIOLATION: '23',
} as const;

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 ? code : undefined;
}

/** Whether PostgreSQL refused a value itself (SQLSTATE class 22): no retry can succeed. */
export function isDataException(err: unknown): boolean {
  return sqlState(err)?.startsWith(PgErrorClass.DATA_EXCEPTION) ?? false;
}

/** Whether PostgreSQL refused a row for a constraint (SQLSTATE class 23). */
export function isIntegrityViolation(err: unknown): boolean {
  return sqlState(err)?.startsWith(PgErrorClass.INTEGRITY_CONSTRAINT_VIOLATION) ?? false;
}

/**
 * Whether Postgres refused an operation for what it was given, so trying it again can never succeed:
 * a data exception (class 22: a NUL or unpaired surrogate in text or JSON, a number out of range) or an
 * integrity violation (class 23).
 */
export function isPermanentDataError(err: unknown): boolean {
  return isDataException(err) || isIntegrityViolation(err);
}
