// TurnPipeline against the real Redis: the calls of one group in one turn go in one socket write,
// each keeps its own reply or error, order holds, and the client's commandTimeout still fails a
// call that Redis does not answer.
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

  /** Counts the writes to the client's socket (observed, not replaced). */
  async function countWrites(redis: Redis): Promise<{ readonly count: number }> {
    await redis.ping();
    const stream = (redis as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const write = stream.write.bind(stream);
    const counter = { count: 0 };
    stream.write = (...args: unknown[]) => {
      counter.count++;
      return write(...args);
    };
    return counter;
  }

  it('sends the calls of one group made in one turn in one write, each with its own reply', async () => {
    const redis = client();
    const turn = new TurnPipeline(redis);
    const writes = await countWrites(redis);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => turn.send<number>('a', 'incrby', [`${base}:n:${i}`, i + 1])));
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(writes.count).toBe(1);
  });

  it('splits a turn of more calls than one write takes into writes of at most 1,000', async () => {
    const redis = client();
    const turn = new TurnPipeline(redis);
    const writes = await countWrites(redis);
    const replies = await Promise.all(Array.from({ length: 2_500 }, () => turn.send<number>('a', 'incr', [`${base}:many`])));
    expect(replies).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
    expect(writes.count).toBe(3);
  });

  it('fails the callers of a command the client does not have, and nothing else', async () => {
    const redis = client();
    const turn = new TurnPipeline(redis);
    const results = await Promise.allSettled([
      turn.send('a', 'noSuchCommand', [`${base}:x`]),
      turn.send('a', 'noSuchCommand', [`${base}:y`]),
      turn.send('b', 'noSuchCommand', [`${base}:z`]),
      turn.send<number>('c', 'incr', [`${base}:still-ok`]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'fulfilled']);
  });

  it('sends one write per group, and a call alone in its turn as it is', async () => {
    const redis = client();
    const turn = new TurnPipeline(redis);
    const writes = await countWrites(redis);
    const [a, b, c] = await Promise.all([
      turn.send<number>('a', 'incr', [`${base}:g:a`]),
      turn.send<number>('b', 'incr', [`${base}:g:b`]),
      turn.send<number>('a', 'incr', [`${base}:g:a`]),
    ]);
    expect([a, b, c]).toEqual([1, 1, 2]);
    expect(writes.count).toBe(2);
    expect(await turn.send<number>('a', 'incr', [`${base}:g:a`])).toBe(3);
    expect(writes.count).toBe(3);
  });

  it('keeps the order of the calls within a group', async () => {
    const redis = client();
    const turn = new TurnPipeline(redis);
    await Promise.all(Array.from({ length: 30 }, (_, i) => turn.send('a', 'rpush', [`${base}:order`, i])));
    expect(await redis.lrange(`${base}:order`, 0, -1)).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
  });

  it('fails only the call Redis refuses', async () => {
    const redis = client();
    await redis.hset(`${base}:hash`, 'f', '1');
    const turn = new TurnPipeline(redis);
    const results = await Promise.allSettled([
      turn.send<number>('a', 'incr', [`${base}:ok:1`]),
      turn.send<number>('a', 'incr', [`${base}:hash`]),
      turn.send<number>('a', 'incr', [`${base}:ok:2`]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
  });

  it("fails a call Redis does not answer after the client's commandTimeout, as a call sent alone", async () => {
    const redis = client(150);
    const turn = new TurnPipeline(redis);
    // Both block for 5 s on a list nobody pushes to: far longer than the command timeout. Without the
    // timeout they would resolve (to null) after 5 s instead of failing.
    const results = await Promise.allSettled([
      turn.send('a', 'blpop', [`${base}:empty:1`, 5]),
      turn.send('a', 'blpop', [`${base}:empty:2`, 5]),
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(String((r as PromiseRejectedResult).reason)).toMatch(/Command timed out/);
    }
    const alone = await Promise.allSettled([turn.send('b', 'blpop', [`${base}:empty:3`, 5])]);
    expect(String((alone[0] as PromiseRejectedResult).reason)).toMatch(/Command timed out/);
  });

  it('runs scripts defined on the client, in a pipeline as alone', async () => {
    const redis = client();
    redis.defineCommand('turnPipelineEcho', { numberOfKeys: 1, lua: 'return {KEYS[1], ARGV[1]}' });
    const turn = new TurnPipeline(redis);
    const replies = await Promise.all([1, 2, 3].map((i) => turn.send('a', 'turnPipelineEcho', [`${base}:k`, i])));
    expect(replies).toEqual([1, 2, 3].map((i) => [`${base}:k`, String(i)]));
    expect(await turn.send('a', 'turnPipelineEcho', [`${base}:k`, 'x'])).toEqual([`${base}:k`, 'x']);
  });
});
