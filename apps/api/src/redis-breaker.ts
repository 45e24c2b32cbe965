import { AppError } from '@booking/domain';
import type { Logger } from '@booking/observability';
import { isRedisUnavailableError, type RedisClient } from '@booking/queue';
import CircuitBreaker from 'opossum';

import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './middleware/problem.ts';

export type RedisBreakerState = 'closed' | 'open' | 'half-open';

export interface RedisBreakerSettings {
  /** Share of failed Redis calls (percent) in the rolling window above which the breaker opens. */
  errorThresholdPercentage: number;
  /** Calls the rolling window must hold before the breaker may open. */
  volumeThreshold: number;
  /** How long the breaker stays open before one trial call may go through (half-open), in ms. */
  resetTimeoutMs: number;
  /** Length of the rolling statistics window, in ms. */
  rollingWindowMs: number;
}

export const DEFAULT_REDIS_BREAKER_SETTINGS: RedisBreakerSettings = {
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  resetTimeoutMs: 1_000,
  rollingWindowMs: 10_000,
};

/**
 * The circuit breaker in front of the API's Redis calls (opossum underneath).
 *
 * - closed: calls go to Redis; outage errors (connection lost, not ready, timed out) are counted.
 *   Calls also fail at once while the connection is not ready (no offline queue), so a dead Redis
 *   never makes a caller wait even before the breaker has opened.
 * - open: once too many calls failed, every call fails at once with `503 UNAVAILABLE` and a
 *   Retry-After, without touching Redis.
 * - half-open: after `resetTimeoutMs` one trial call goes through; success closes the breaker,
 *   failure opens it again.
 *
 * Errors that are not outages (a rate limit refusal, a script error, a contract error) pass through
 * unchanged and do not count against Redis.
 */
export interface RedisBreaker {
  state(): RedisBreakerState;
  /** Calls `listener` on every transition; returns a function that removes it. */
  onStateChange(listener: (state: RedisBreakerState, previous: RedisBreakerState) => void): () => void;
  /** Redis connection errors seen on the watched connections since start (for `redis_connection_errors_total`). */
  connectionErrors(): number;
  /** Calls `listener` on every Redis connection error; returns a function that removes it. */
  onConnectionError(listener: (error: Error) => void): () => void;
  /** Runs one Redis-touching operation through the breaker; outages become `503 UNAVAILABLE`. */
  run<T>(operation: () => Promise<T>): Promise<T>;
  /** Counts the connection errors of another connection (e.g. the subscriber). */
  watch(client: RedisClient): void;
  /** Stops the breaker's timers (at shutdown); later calls fail with 503. */
  shutdown(): void;
}

/** What the breaker's readiness pre-check throws: the call was never sent to Redis. */
export class RedisNotReadyError extends Error {
  override readonly name = 'RedisNotReadyError';
  constructor() {
    super('Redis connection is not ready');
  }
}

/** Whether an error means Redis is unreachable, not ready or too slow (and so counts against it). */
export function isRedisOutage(err: unknown): boolean {
  if (err instanceof AppError) return err.code === 'UNAVAILABLE';
  if (isRedisUnavailableError(err)) return true;
  return err instanceof RedisNotReadyError;
}

/**
 * Whether a call that failed through the breaker certainly never reached Redis: the breaker was open,
 * or the connection was not ready. Any other failure (a timeout, a connection lost mid-way) may have
 * been carried out by Redis all the same.
 */
export function neverSent(err: unknown): boolean {
  const cause = err instanceof AppError ? err.cause : err;
  return cause instanceof RedisNotReadyError || (cause instanceof Error && CircuitBreaker.isOurError(cause));
}

function unavailable(detail: string, cause: unknown): AppError {
  return new AppError('UNAVAILABLE', detail, { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS, cause });
}

/**
 * A breaker for the API's request-path Redis connection `command` (the fail-fast one: no offline
 * queue, one retry, command timeout). Each call is bounded by the connection's own timeouts, so the
 * breaker adds no timeout of its own.
 */
export function createRedisBreaker(options: {
  command: RedisClient;
  logger: Logger;
  settings?: Partial<RedisBreakerSettings>;
}): RedisBreaker {
  const { command, logger } = options;
  const settings = { ...DEFAULT_REDIS_BREAKER_SETTINGS, ...options.settings };

  const breaker = new CircuitBreaker<[() => Promise<unknown>], unknown>(
    (operation) => {
      // Without an offline queue ioredis rejects commands while reconnecting, but BullMQ first waits
      // for a connection to be ready; refuse here so no caller waits on a Redis that is gone.
      if (command.status !== 'ready') return Promise.reject(new RedisNotReadyError());
      return operation();
    },
    {
      name: 'redis',
      timeout: false,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      volumeThreshold: settings.volumeThreshold,
      resetTimeout: settings.resetTimeoutMs,
      rollingCountTimeout: settings.rollingWindowMs,
      rollingCountBuckets: 10,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      // true = not Redis's fault: passed on to the caller but not counted as a failure.
      errorFilter: (err: unknown) => !isRedisOutage(err),
    },
  );

  let current: RedisBreakerState = 'closed';
  const stateListeners = new Set<(state: RedisBreakerState, previous: RedisBreakerState) => void>();
  const transition = (next: RedisBreakerState) => {
    const previous = current;
    if (previous === next) return;
    current = next;
    const log = next === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger);
    log('redis circuit breaker ' + next, { from: previous, connection: command.status });
    for (const listener of stateListeners) {
      try {
        listener(next, previous);
      } catch (err) {
        logger.error('redis breaker state listener failed', { error: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  breaker.on('open', () => transition('open'));
  breaker.on('halfOpen', () => transition('half-open'));
  breaker.on('close', () => transition('closed'));

  let errors = 0;
  const errorListeners = new Set<(error: Error) => void>();
  const watched = new WeakSet<RedisClient>();
  const watch = (client: RedisClient) => {
    if (watched.has(client)) return;
    watched.add(client);
    client.on('error', (err: Error) => {
      errors++;
      for (const listener of errorListeners) {
        try {
          listener(err);
        } catch {
          // a metrics hook must not break the connection's error handling
        }
      }
    });
  };
  watch(command);

  const run = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return (await breaker.fire(operation)) as T;
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (CircuitBreaker.isOurError(err as Error)) {
        throw unavailable('Redis is unavailable (circuit open); try again shortly', err);
      }
      if (isRedisOutage(err)) throw unavailable('Redis is unavailable; try again shortly', err);
      throw err;
    }
  };

  return {
    state: () => current,
    onStateChange(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    connectionErrors: () => errors,
    onConnectionError(listener) {
      errorListeners.add(listener);
      return () => errorListeners.delete(listener);
    },
    run,
    watch,
    shutdown() {
      breaker.shutdown();
      stateListeners.clear();
      errorListeners.clear();
    },
  };
}
