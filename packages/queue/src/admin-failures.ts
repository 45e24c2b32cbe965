import { defineScripts, luaScript } from './lua-scripts.ts';
import type { RedisClient } from './redis.ts';

const ADMIN_FAILURE = luaScript('admin-failure');

interface AdminFailureCommands {
  bookingAdminFailure(key: string, windowMs: number): Promise<number>;
}

/**
 * Counts one more failed admin-key attempt under `key`, the window of `windowMs` starting with the
 * first (packages/queue/lua/admin-failure-1.lua); resolves to the count.
 */
export function countAdminFailure(redis: RedisClient, key: string, windowMs: number): Promise<number> {
  defineScripts(redis, { bookingAdminFailure: ADMIN_FAILURE });
  return (redis as RedisClient & AdminFailureCommands).bookingAdminFailure(key, windowMs);
}
