// The gate's rebuild (rebuild-4.lua) replays the worker's rules over the pending records in
// admission order: placed by admission number when the numbers are dense, sorted when they are far
// apart. Against a real Redis, both ways must hold exactly what the rules give in that order.
import { newEventId, newRequestId } from '@booking/domain';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '@booking/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AdmissionGate } from '../src/index.ts';

interface Admitted {
  requestId: string;
  userId: string;
  quantity: number;
}

/** What the rules hold, replayed over `admitted` in admission order. */
function expectedHeld(admitted: Admitted[], available: number, maxPerUser: number | null, confirmed: Array<[string, number]> = []) {
  const held: Record<string, string> = {};
  const users: Record<string, string> = {};
  const seats = new Map<string, number>(maxPerUser === null ? [] : confirmed);
  let avail = available;
  for (const r of admitted) {
    const mine = seats.get(r.userId) ?? 0;
    if ((maxPerUser === null || mine + r.quantity <= maxPerUser) && avail >= r.quantity) {
      avail -= r.quantity;
      seats.set(r.userId, mine + r.quantity);
      held[r.requestId] = `${r.quantity}|${r.userId}`;
    }
  }
  if (maxPerUser !== null) for (const [u, n] of seats) users[u] = String(n);
  return { held, users, avail: String(avail) };
}

describe('the admission gate rebuild', () => {
  let redis: Redis;
  const prefix = uniquePrefix();
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    await deleteKeys(prefix);
    redis.disconnect();
  });

  /** Admits `count` requests (users and quantities in a fixed cycle) on a gate with room for all. */
  async function admitMany(gate: AdmissionGate, eventId: string, count: number): Promise<Admitted[]> {
    await gate.open(eventId, 1_000_000);
    const admitted: Admitted[] = [];
    for (let i = 0; i < count; i++) {
      const r = { requestId: newRequestId(eventId), userId: `user|${i % 7}`, quantity: 1 + (i % 3) };
      const answer = await gate.admit({ eventId, ...r, maxPerUser: null, acceptedAt: new Date().toISOString() });
      expect(answer.kind).toBe('admitted');
      admitted.push(r);
    }
    return admitted;
  }

  it.each([
    { maxPerUser: null, count: 3_000, available: 2_500 },
    { maxPerUser: 40, count: 3_000, available: 2_500 },
  ])('holds what the rules give in admission order, placed by number (3,000 records, per-user limit $maxPerUser)', async (c) => {
    const gate = new AdmissionGate(redis, prefix, true);
    const eventId = newEventId();
    const admitted = await admitMany(gate, eventId, c.count);
    const keys = gate.keys(eventId);
    // Drifted: the database says fewer seats are left than the gate promised.
    await gate.rebuild(eventId, { available: c.available, maxPerUser: c.maxPerUser, confirmedByUser: [] });
    const want = expectedHeld(admitted, c.available, c.maxPerUser);
    // More is asked for than is left, so what is held depends on the order.
    expect(Object.keys(want.held).length).toBeLessThan(admitted.length);
    expect(await redis.hgetall(keys.held)).toEqual(want.held);
    expect(await redis.hgetall(keys.users)).toEqual(want.users);
    expect(await redis.hget(keys.gate, 'avail')).toBe(want.avail);
  });

  it('holds what the rules give in admission order when the pending numbers are far apart (sorted)', async () => {
    const gate = new AdmissionGate(redis, prefix, true);
    const eventId = newEventId();
    const admitted = await admitMany(gate, eventId, 400);
    const keys = gate.keys(eventId);
    // Every 25th record is left pending (the rest decided): 16 records over 400 numbers.
    const left = admitted.filter((_, i) => i % 25 === 0);
    const decided = admitted.filter((_, i) => i % 25 !== 0).map((r) => r.requestId);
    await redis.hdel(keys.pending, ...decided);
    // Written again in reverse, so that the hash (small: kept in insertion order) no longer lists
    // them in admission order.
    const records = await redis.hmget(keys.pending, ...left.map((r) => r.requestId));
    await redis.hdel(keys.pending, ...left.map((r) => r.requestId));
    for (let i = left.length - 1; i >= 0; i--) await redis.hset(keys.pending, left[i]!.requestId, records[i]!);
    expect(Object.keys(await redis.hgetall(keys.pending))).toEqual(left.map((r) => r.requestId).reverse());
    // user|0 holds 2 confirmed seats already.
    await gate.rebuild(eventId, { available: 15, maxPerUser: 6, confirmedByUser: [['user|0', 2]] });
    const want = expectedHeld(left, 15, 6, [['user|0', 2]]);
    expect(Object.keys(want.held).length).toBeLessThan(left.length);
    expect(await redis.hgetall(keys.held)).toEqual(want.held);
    expect(await redis.hgetall(keys.users)).toEqual(want.users);
    expect(await redis.hget(keys.gate, 'avail')).toBe(want.avail);
  });
});
