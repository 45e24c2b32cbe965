import { AdminFailureCounter, type RedisClient } from '@booking/queue';

import type { RedisBreaker } from '../redis-breaker.ts';

/** Window in which failed admin-key attempts of one address are counted. */
const WINDOW_MS = 60_000;

/**
 * Counts failed admin-key attempts per client address in Redis (so across API replicas); past
 * `maxFailures` in a minute the address is refused until the minute is over, whatever it sends.
 * A Redis outage lets attempts through to the key comparison rather than locking admins out.
 */
export class AdminThrottle {
  private readonly failures: AdminFailureCounter;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    readonly maxFailures: number,
    /** Runs the lookup of `blockedForMs` (through the Redis breaker in the API). */
    private readonly breaker: Pick<RedisBreaker, 'run'> = { run: (operation) => operation() },
  ) {
    this.failures = new AdminFailureCounter(redis);
  }

  private key(address: string): string {
    return `${this.prefix}:admin-failures:${address}`;
  }

  /** Milliseconds until the address may try again, or 0 when it may now. */
  async blockedForMs(address: string): Promise<number> {
    try {
      const key = this.key(address);
      const [count, ttl] = await this.breaker.run(() => Promise.all([this.redis.get(key), this.redis.pttl(key)]));
      return Number(count ?? 0) >= this.maxFailures ? Math.max(ttl, 1_000) : 0;
    } catch {
      return 0;
    }
  }

  /** Notes a failed attempt of the address. */
  async failed(address: string): Promise<void> {
    await this.failures.count(this.key(address), WINDOW_MS).catch(() => 0);
  }
}
