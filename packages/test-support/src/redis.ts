import { randomBytes } from 'node:crypto';

import type { RedisClient } from '@booking/queue';
import { Redis } from 'ioredis';

import { TEST_REDIS_URL } from './env.ts';

/** A Redis key prefix no other test file uses. */
export function uniquePrefix(): string {
  return `bt-${randomBytes(5).toString('hex')}`;
}

/** Deletes every key under `prefix` (on the test Redis). */
export async function deleteKeys(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    await unlinkUnder(redis, prefix);
  } finally {
    await redis.quit();
  }
}

/** Deletes every key under `prefix:` through `client`, a batch of SCAN at a time (tests and benchmarks). */
export async function unlinkUnder(client: RedisClient, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
}
