// TurnPipeline against the real Redis: the calls of one turn leave in one socket write, each keeps
// its own reply or error, order holds, and the client's commandTimeout still fails a call that
// Redis does not answer.
import { TEST_REDIS_URL } from '@booking/test-support';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

import { TurnPipeline } from '../src/turn-pipeline.ts';

const base = `turn-pipeline-test:${process.pid}:${Date.now()}`;

describe('TurnPipeline', () => {
  const clients: Redis[] = [];
  const client = (commandTimeout?: number) => {
    const redis = new Redis(TEST_REDIS_URL, commandTimeout === undefined ? {} : { commandTimeout });
    redis.on('error', () => {});
    clients.push(redis);
    return redis;
  };
  afterAll(async () => {
    const redis = client();
    const keys = await redis.keys(`${base}:*`);
    if (keys.length > 0) await redis.del(...keys);
    for (const c of clients) c.disconnect();
  });

  /**
   * Counts the writes the client's socket makes to the kernel: its `_write` and `_writev` (the stream
   * implementer's methods, called once per chunk, or once for all the chunks a cork held back).
   * Observed, not replaced.
   */
  async function countWrites(redis: Redis): Promise<{ readonly count: number }> {
    await redis.ping();
    const socket = redis.stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
    const counter = { count: 0 };
    for (const name of ['_write', '_writev'] as const) {
      const original = socket[name].bind(socket);
      socket[name] = (...args: unknown[]) => {
        counter.count++;
        return original(...args);
      };
    }
    return counter;
  }

  it('sends the calls made in one turn in one write, each with its own reply', async () => {
    const redis = client();
    const turn = new TurnPipeline(redis);
    const writes = await countWrites(redis);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => turn.send<number>('incrby', [`${base}:n:${i}`, i + 1])));
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(writes.count).toBe(1);
  });

  it('sends the calls of each turn in a write of their own, and a call alone as it is', async () => {
    const redis = client();
    const turn = new TurnPipeline(redis);
    const writes = await countWrites(redis);
    expect(await Promise.all([turn.send<number>('incr', [`${base}:t:a`]), turn.send<number>('incr', [`${base}:t:b`])])).toEqual([1, 1]);
    expect(writes.count).toBe(1);
    expect(await Promise.all([turn.send<number>('incr', [`${base}:t:a`]), turn.send<number>('incr', [`${base}:t:b`])])).toEqual([2, 2]);
    expect(writes.count).toBe(2);
    expect(await turn.send<number>('incr', [`${base}:t:a`])).toBe(3);
    expect(writes.count).toBe(3);
  });

  it('splits a turn of more calls than one write takes into writes of at most 1,000', async () => {
    const redis = client();
    const turn = new TurnPipeline(redis);
    const writes = await countWrites(redis);
    const replies = await Promise.all(Array.from({ length: 2_500 }, () => turn.send<number>('incr', [`${base}:many`])));
    expect(replies).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
    expect(writes.count).toBe(3);
  });

  it('keeps the order of the calls', async () => {
    const redis = client();
    const turn = new TurnPipeline(redis);
    await Promise.all(Array.from({ length: 30 }, (_, i) => turn.send('rpush', [`${base}:order`, i])));
    expect(await redis.lrange(`${base}:order`, 0, -1)).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
  });

  it('fails only the call Redis refuses', async () => {
    const redis = client();
    await redis.hset(`${base}:hash`, 'f', '1');
    const turn = new TurnPipeline(redis);
    const results = await Promise.allSettled([
      turn.send<number>('incr', [`${base}:ok:1`]),
      turn.send<number>('incr', [`${base}:hash`]),
      turn.send<number>('incr', [`${base}:ok:2`]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
  });

  it('fails the callers of a command the client does not have, and nothing else', async () => {
    const redis = client();
    const turn = new TurnPipeline(redis);
    const results = await Promise.allSettled([
      turn.send('noSuchCommand', [`${base}:x`]),
      turn.send<number>('incr', [`${base}:still-ok`]),
      turn.send('noSuchCommand', [`${base}:y`]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
  });

  it("fails a call Redis does not answer after the client's commandTimeout, as a call sent alone", async () => {
    const redis = client(150);
    const turn = new TurnPipeline(redis);
    // Both block for 5 s on a list nobody pushes to: far longer than the command timeout. Without the
    // timeout they would resolve (to null) after 5 s instead of failing.
    const results = await Promise.allSettled([turn.send('blpop', [`${base}:empty:1`, 5]), turn.send('blpop', [`${base}:empty:2`, 5])]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(String((r as PromiseRejectedResult).reason)).toMatch(/Command timed out/);
    }
    const alone = await Promise.allSettled([turn.send('blpop', [`${base}:empty:3`, 5])]);
    expect(String((alone[0] as PromiseRejectedResult).reason)).toMatch(/Command timed out/);
  });

  it('fails at once, as a call alone does, while the client cannot reach Redis (no offline queue)', async () => {
    const redis = new Redis({ port: 1, host: '127.0.0.1', enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    redis.on('error', () => {});
    clients.push(redis);
    const turn = new TurnPipeline(redis);
    const results = await Promise.allSettled([turn.send('incr', [`${base}:off:1`]), turn.send('incr', [`${base}:off:2`])]);
    for (const r of results) expect(String((r as PromiseRejectedResult).reason)).toMatch(/Stream isn't writeable/);
  });

  it('runs scripts defined on the client, together as alone', async () => {
    const redis = client();
    redis.defineCommand('turnPipelineEcho', { numberOfKeys: 1, lua: 'return {KEYS[1], ARGV[1]}' });
    const turn = new TurnPipeline(redis);
    const replies = await Promise.all([1, 2, 3].map((i) => turn.send('turnPipelineEcho', [`${base}:k`, i])));
    expect(replies).toEqual([1, 2, 3].map((i) => [`${base}:k`, String(i)]));
    expect(await turn.send('turnPipelineEcho', [`${base}:k`, 'x'])).toEqual([`${base}:k`, 'x']);
  });
});
