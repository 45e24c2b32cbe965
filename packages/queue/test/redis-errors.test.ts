// isRedisUnavailableError against the errors ioredis really raises when Redis is gone, too slow or
// busy, and against errors that are not outages (which must surface as themselves, not as a 503).
import { once } from 'node:events';

import { freePort as closedPort, TEST_REDIS_URL } from '@booking/test-support';
import { Redis, type RedisOptions, ReplyError } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

import { isRedisUnavailableError } from '../src/redis.ts';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('isRedisUnavailableError', () => {
  const clients: Redis[] = [];
  const client = (options: RedisOptions | string) => {
    const redis = typeof options === 'string' ? new Redis(options) : new Redis(options);
    redis.on('error', () => {});
    clients.push(redis);
    return redis;
  };
  afterAll(() => {
    for (const c of clients) c.disconnect();
  });

  it('is true for a refused connection (ECONNREFUSED), as the connection reports it', async () => {
    const redis = client({ port: await closedPort(), host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    const reported = once(redis, 'error') as Promise<[Error]>;
    await redis.connect().catch(() => {});
    const [err] = await reported;
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(isRedisUnavailableError(err)).toBe(true);
  });

  it('is true for a command refused while not connected without an offline queue', async () => {
    const redis = client({
      port: await closedPort(),
      host: '127.0.0.1',
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    const err = await rejection(redis.get('k'));
    expect(err.message).toMatch(/Stream isn't writeable/);
    expect(isRedisUnavailableError(err)).toBe(true);
  });

  it('is true for a command on a closed connection', async () => {
    const redis = client(TEST_REDIS_URL);
    await redis.ping();
    redis.disconnect();
    const err = await rejection(redis.get('k'));
    expect(err.message).toMatch(/Connection is closed/);
    expect(isRedisUnavailableError(err)).toBe(true);
  });

  it('is true for a command that ran out of retries (MaxRetriesPerRequestError)', async () => {
    const redis = client({ port: await closedPort(), host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 10 });
    const err = await rejection(redis.get('k'));
    expect(err.name).toBe('MaxRetriesPerRequestError');
    expect(isRedisUnavailableError(err)).toBe(true);
  });

  it('is true for a command that outlived its commandTimeout', async () => {
    const redis = client({ ...urlOptions(TEST_REDIS_URL), commandTimeout: 100 });
    // Blocks for a second on a list nobody pushes to: longer than the command timeout.
    const err = await rejection(redis.blpop(`redis-errors-test:${process.pid}:${Date.now()}`, 1));
    expect(err.message).toMatch(/Command timed out/);
    expect(isRedisUnavailableError(err)).toBe(true);
  });

  it('is true for the replies of a Redis that cannot serve now (LOADING, CLUSTERDOWN, TRYAGAIN, MASTERDOWN)', () => {
    for (const reply of [
      'LOADING Redis is loading the dataset in memory',
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'MASTERDOWN Link with MASTER is down',
    ]) {
      expect(isRedisUnavailableError(new ReplyError(reply)), reply).toBe(true);
    }
  });

  it('is false for an error reply about the command itself', async () => {
    const redis = client(TEST_REDIS_URL);
    const err = await rejection(redis.call('NO-SUCH-COMMAND'));
    expect(err).toBeInstanceOf(ReplyError);
    expect(isRedisUnavailableError(err)).toBe(false);
    const wrongType = await rejection(redis.eval("return redis.error_reply('WRONGTYPE not a list')", 0));
    expect(isRedisUnavailableError(wrongType)).toBe(false);
  });

  it('is false for what is not an error of Redis', () => {
    expect(isRedisUnavailableError(new Error('boom'))).toBe(false);
    expect(isRedisUnavailableError(new TypeError("Cannot read properties of undefined (reading 'status')"))).toBe(false);
    expect(isRedisUnavailableError('Connection is closed')).toBe(false);
    expect(isRedisUnavailableError(undefined)).toBe(false);
  });
});

function urlOptions(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379) };
}
