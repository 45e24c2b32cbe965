import { defineScripts, luaScript } from './lua-scripts.ts';
import type { RedisClient } from './redis.ts';

const ADMIN_FAILURE = luaScript('admin-failure');

interface AdminFailureCommands {
  bookingAdminFailure(key: string, windowMs: number): Promise<number>;
}

/** Counts failed admin-key attempts in Redis (packages/queue/lua/admin-failure-1.lua), its script defined once on the client. */
export class AdminFailureCounter {
  private readonly redis: RedisClient & AdminFailureCommands;

  constructor(redis: RedisClient) {
    defineScripts(redis, { bookingAdminFailure: ADMIN_FAILURE });
    this.redis = redis as RedisClient & AdminFailureCommands;
  }

  /** One more failure under `key`, the window of `windowMs` starting with the first; resolves to the count. */
  count(key: string, windowMs: number): Promise<number> {
    return this.redis.bookingAdminFailure(key, windowMs);
  }
}
