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
  /** A connected client configured as the request path's (no offline queue: a call fails at once when it cannot be sent). */
  const client = async (commandTimeout?: number) => {
    const redis = new Redis(TEST_REDIS_URL, { enableOfflineQueue: false, ...(commandTimeout === undefined ? {} : { commandTimeout }) });
    redis.on('error', () => {});
    clients.push(redis);
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    return redis;
  };
  afterAll(async () => {
    const redis = await client();
    const keys = await redis.keys(`${base}:*`);
    if (keys.length > 0) await redis.del(...keys);
    for (const c of clients) c.disconnect();
  });

  /**
   * Counts the writes the client's socket makes to the kernel: its `_write` and `_writev` (the stream
   * implementer's methods, called once per chunk, or once for all the chunks a cork held back).
   * Observed, not replaced.
   */
  function countWrites(redis: Redis): { readonly count: number } {
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
    const redis = await client();
    const turn = new TurnPipeline(redis);
    const writes = countWrites(redis);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => turn.send<number>(() => redis.incrby(`${base}:n:${i}`, i + 1))));
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(writes.count).toBe(1);
    expect(redis.stream.writableCorked).toBe(0);
  });

  it('sends the calls of each turn in a write of their own, and a call alone as it is', async () => {
    const redis = await client();
    const turn = new TurnPipeline(redis);
    const writes = countWrites(redis);
    expect(
      await Promise.all([turn.send<number>(() => redis.incr(`${base}:t:a`)), turn.send<number>(() => redis.incr(`${base}:t:b`))]),
    ).toEqual([1, 1]);
    expect(writes.count).toBe(1);
    expect(
      await Promise.all([turn.send<number>(() => redis.incr(`${base}:t:a`)), turn.send<number>(() => redis.incr(`${base}:t:b`))]),
    ).toEqual([2, 2]);
    expect(writes.count).toBe(2);
    expect(await turn.send<number>(() => redis.incr(`${base}:t:a`))).toBe(3);
    expect(writes.count).toBe(3);
  });

  it('hands a turn of more calls than one cork takes to the socket in parts of at most 1,000', async () => {
    const redis = await client();
    const turn = new TurnPipeline(redis);
    const writes = countWrites(redis);
    const replies = await Promise.all(Array.from({ length: 2_500 }, () => turn.send<number>(() => redis.incr(`${base}:many`))));
    expect(replies).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
    // Three parts; a part the kernel could not take at once leaves the next ones buffered, and the
    // socket then writes them together: two writes or three, never one per call.
    expect(writes.count).toBeGreaterThanOrEqual(2);
    expect(writes.count).toBeLessThanOrEqual(3);
    expect(redis.stream.writableCorked).toBe(0);
  });

  it('keeps the order of the calls', async () => {
    const redis = await client();
    const turn = new TurnPipeline(redis);
    await Promise.all(Array.from({ length: 30 }, (_, i) => turn.send(() => redis.rpush(`${base}:order`, i))));
    expect(await redis.lrange(`${base}:order`, 0, -1)).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
  });

  it('fails only the call Redis refuses', async () => {
    const redis = await client();
    await redis.hset(`${base}:hash`, 'f', '1');
    const turn = new TurnPipeline(redis);
    const results = await Promise.allSettled([
      turn.send<number>(() => redis.incr(`${base}:ok:1`)),
      turn.send<number>(() => redis.incr(`${base}:hash`)),
      turn.send<number>(() => redis.incr(`${base}:ok:2`)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
  });

  it('fails the caller of a call that throws before it is sent, and nothing else', async () => {
    const redis = await client();
    const turn = new TurnPipeline(redis);
    const broken = (): Promise<number> => {
      throw new Error('no such command');
    };
    const results = await Promise.allSettled([
      turn.send(broken),
      turn.send<number>(() => redis.incr(`${base}:still-ok`)),
      turn.send(broken),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    expect(redis.stream.writableCorked).toBe(0);
  });

  it("fails a call Redis does not answer after the client's commandTimeout, as a call sent alone", async () => {
    const redis = await client(150);
    const turn = new TurnPipeline(redis);
    // Both block for 5 s on a list nobody pushes to: far longer than the command timeout. Without the
    // timeout they would resolve (to null) after 5 s instead of failing.
    const results = await Promise.allSettled([
      turn.send(() => redis.blpop(`${base}:empty:1`, 5)),
      turn.send(() => redis.blpop(`${base}:empty:2`, 5)),
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(String((r as PromiseRejectedResult).reason)).toMatch(/Command timed out/);
    }
    const alone = await Promise.allSettled([turn.send(() => redis.blpop(`${base}:empty:3`, 5))]);
    expect(String((alone[0] as PromiseRejectedResult).reason)).toMatch(/Command timed out/);
  });

  it('fails at once, as a call alone does, when the connection is gone (no offline queue)', async () => {
    const redis = await client();
    const turn = new TurnPipeline(redis);
    const results = Promise.allSettled([turn.send(() => redis.incr(`${base}:off:1`)), turn.send(() => redis.incr(`${base}:off:2`))]);
    // Gone before the turn's calls go out.
    redis.stream.destroy();
    for (const r of await results) {
      expect(r.status).toBe('rejected');
      expect(String((r as PromiseRejectedResult).reason)).toMatch(/Stream isn't writeable/);
    }
    expect(redis.stream.writableCorked).toBe(0);
  });

  it('runs scripts defined on the client, together as alone', async () => {
    const redis = await client();
    redis.defineCommand('turnPipelineEcho', { numberOfKeys: 1, lua: 'return {KEYS[1], ARGV[1]}' });
    const echo = (key: string, value: string | number) =>
      (redis as unknown as { turnPipelineEcho: (key: string, value: string | number) => Promise<unknown> }).turnPipelineEcho(key, value);
    const turn = new TurnPipeline(redis);
    const replies = await Promise.all([1, 2, 3].map((i) => turn.send(() => echo(`${base}:k`, i))));
    expect(replies).toEqual([1, 2, 3].map((i) => [`${base}:k`, String(i)]));
    expect(await turn.send(() => echo(`${base}:k`, 'x'))).toEqual([`${base}:k`, 'x']);
  });
});
