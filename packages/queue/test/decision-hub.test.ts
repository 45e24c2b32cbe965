import { setTimeout as sleep } from 'node:timers/promises';

import { TEST_REDIS_URL, uniquePrefix } from '@booking/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createRedis, DecisionHub, type DecisionMessage, decisionsChannel } from '../src/index.ts';

describe('DecisionHub', () => {
  let publisher: Redis;
  beforeAll(() => {
    publisher = new Redis(TEST_REDIS_URL);
  });
  afterAll(() => {
    publisher.disconnect();
  });

  const message = (requestId: string): DecisionMessage => ({
    type: 'decisions',
    requests: [
      {
        requestId,
        eventId: 'e',
        userId: 'u',
        quantity: 1,
        status: 'confirmed',
        acceptedAt: new Date().toISOString(),
        decidedAt: new Date().toISOString(),
      },
    ],
  });

  it('answers a request it was told to expect from memory once decided, and only once', async () => {
    const channel = decisionsChannel(uniquePrefix());
    const subscriber = createRedis({ url: TEST_REDIS_URL, cluster: false }, 'subscriber');
    const hub = new DecisionHub(subscriber, channel);
    await hub.start();
    try {
      hub.expect('mine');
      expect(hub.known('mine')).toEqual({ state: 'pending' });
      expect(hub.known('not-mine')).toBeUndefined();
      await publisher.publish(channel, JSON.stringify(message('mine')));
      let known = hub.known('mine');
      for (let i = 0; i < 100 && known?.state === 'pending'; i++) {
        await sleep(10);
        known = hub.known('mine');
      }
      expect(known?.state).toBe('decided');
      expect(hub.known('mine'), 'handed out once, then asked for').toBeUndefined();
    } finally {
      hub.releaseAll();
      subscriber.disconnect();
    }
  });
});
