import { AppError } from '@booking/domain';
import type { RedisClient } from '@booking/queue';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** Counts a user's submissions across every API replica (the counter lives in Redis). */
export interface UserRateLimiter {
  /** Counts one submission; throws `429 RATE_LIMITED` with a Retry-After once the user is over. */
  consume(userId: string): Promise<void>;
}

export function createUserRateLimiter(
  redis: RedisClient,
  options: { prefix: string; points: number; windowSeconds: number },
): UserRateLimiter {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${options.prefix}:rate`,
    points: options.points,
    duration: options.windowSeconds,
    // Fail at once (the error handler answers 503) rather than wait for a Redis that is down.
    rejectIfRedisNotReady: true,
  });
  return {
    async consume(userId) {
      try {
        await limiter.consume(userId);
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          throw new AppError('RATE_LIMITED', `at most ${options.points} booking requests per ${options.windowSeconds} s per user`, {
            retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
          });
        }
        throw err;
      }
    },
  };
}
