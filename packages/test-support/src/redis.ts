import { randomBytes } from 'node:crypto';

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
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
