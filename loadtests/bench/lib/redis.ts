// Redis housekeeping for the benchmarks: each run works under a key prefix of its own.
import { randomBytes } from 'node:crypto';

import { createRedis, type RedisSettings } from '@booking/queue';
import { unlinkUnder } from '@booking/test-support/redis';

/** A fresh key prefix, `bench-<random>`. */
export function benchPrefix(): string {
  return `bench-${randomBytes(5).toString('hex')}`;
}

/** Deletes every key under `prefix:`. */
export async function deletePrefix(redis: RedisSettings, prefix: string): Promise<void> {
  // With an offline queue: the commands wait for the connection instead of failing before it is up.
  const client = createRedis(redis, 'worker', 'booking-bench-cleanup');
  try {
    await unlinkUnder(client, prefix);
  } finally {
    await client.quit().catch(() => {});
  }
}
