import { leaseKeys, readyEventsKey, workersKey } from './names.ts';
import type { RedisClient } from './redis.ts';

// An event is decided by one worker at a time: the one holding its lease. Each acquisition takes a new
// epoch from the event's counter; the worker passes it to Postgres with every decision, and Postgres
// refuses an epoch older than the last one it saw, so a worker that lost its lease (paused, cut off)
// cannot decide anything more even if it does not know it yet.

/** KEYS: lease, epoch. ARGV: workerId, ttlMs. Returns the new epoch, or minus the milliseconds the
 * current holder's lease has left. */
const ACQUIRE = `
local left = redis.call('PTTL', KEYS[1])
if left ~= -2 then return -math.max(left, 1) end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch, 'PX', tonumber(ARGV[2]))
return epoch
`;

/** KEYS: lease. ARGV: value, ttlMs. Returns 1 when still ours (and extended). */
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`;

/** KEYS: lease. ARGV: value. Deletes the lease if it is still ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface LeaseCommands {
  bookingLeaseAcquire(lease: string, epoch: string, workerId: string, ttlMs: number): Promise<number>;
  bookingLeaseRenew(lease: string, value: string, ttlMs: number): Promise<number>;
  bookingLeaseRelease(lease: string, value: string): Promise<number>;
}

export interface Lease {
  eventId: string;
  epoch: number;
  /** The lease's value in Redis (`workerId|epoch`). */
  value: string;
}

/**
 * Marks an event as having work (after a job was added to its queue, never before, so a worker that
 * finds the queue empty and unmarks it cannot miss the job); true when it was not marked before.
 */
export async function markEventReady(redis: RedisClient, prefix: string, eventId: string, now = Date.now()): Promise<boolean> {
  return (await redis.zadd(readyEventsKey(prefix), 'NX', now, eventId)) === 1;
}

/** Event leases, the ready-events set and worker heartbeats. */
export class EventLeases {
  private readonly redis: RedisClient & LeaseCommands;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly workerId: string,
    private readonly ttlMs: number,
  ) {
    const commands: Array<[keyof LeaseCommands, number, string]> = [
      ['bookingLeaseAcquire', 2, ACQUIRE],
      ['bookingLeaseRenew', 1, RENEW],
      ['bookingLeaseRelease', 1, RELEASE],
    ];
    for (const [name, numberOfKeys, lua] of commands) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
    }
    this.redis = redis as RedisClient & LeaseCommands;
  }

  /** Takes the event's lease if nobody holds it; otherwise says how long the holder's lease has left. */
  async acquire(eventId: string): Promise<{ lease: Lease } | { heldForMs: number }> {
    const k = leaseKeys(this.prefix, eventId);
    const epoch = Number(await this.redis.bookingLeaseAcquire(k.lease, k.epoch, this.workerId, this.ttlMs));
    if (epoch > 0) return { lease: { eventId, epoch, value: `${this.workerId}|${epoch}` } };
    return { heldForMs: -epoch };
  }

  /** Extends a lease; false when it is no longer ours. */
  async renew(lease: Lease): Promise<boolean> {
    return (await this.redis.bookingLeaseRenew(leaseKeys(this.prefix, lease.eventId).lease, lease.value, this.ttlMs)) === 1;
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.bookingLeaseRelease(leaseKeys(this.prefix, lease.eventId).lease, lease.value);
  }

  /** Events with work, oldest first. */
  async ready(): Promise<string[]> {
    return this.redis.zrange(readyEventsKey(this.prefix), 0, -1);
  }

  /** Marks an event as having work; true when it was not marked before. */
  markReady(eventId: string, now = Date.now()): Promise<boolean> {
    return markEventReady(this.redis, this.prefix, eventId, now);
  }

  /** Moves an event to the back of the ready list (after a turn of serving it). */
  async requeue(eventId: string, now = Date.now()): Promise<void> {
    await this.redis.zadd(readyEventsKey(this.prefix), now, eventId);
  }

  async unmarkReady(eventId: string): Promise<void> {
    await this.redis.zrem(readyEventsKey(this.prefix), eventId);
  }

  /** Records this worker's heartbeat and returns how many workers beat within `windowMs`. */
  async heartbeat(windowMs: number, now = Date.now()): Promise<number> {
    const key = workersKey(this.prefix);
    await this.redis.zadd(key, now, this.workerId);
    await this.redis.zremrangebyscore(key, '-inf', now - 10 * windowMs);
    return Math.max(1, await this.redis.zcount(key, now - windowMs, '+inf'));
  }

  /** Removes this worker's heartbeat (at shutdown), so the others take its share at once. */
  async leave(): Promise<void> {
    await this.redis.zrem(workersKey(this.prefix), this.workerId);
  }
}
