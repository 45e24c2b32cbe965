import { defineScripts, type LuaScript, luaScript } from './lua-scripts.ts';
import { leaseKeys, readyEventsKey, workersKey } from './names.ts';
import type { RedisClient } from './redis.ts';

// An event is decided by one worker at a time: the one holding its lease. Each acquisition takes a new
// epoch from the event's counter; the worker passes it to Postgres with every decision, and Postgres
// refuses an epoch older than the last one it saw, so a worker that lost its lease (paused, cut off)
// cannot decide anything more even if it does not know it yet.
//
// Redis may forget the counter (a flush, a restart without persistence) or come back with an older
// value (a failover that lost writes). Counting on from there would hand out epochs Postgres has seen
// already: the new holder would be refused until the counter caught up, and two holders could share
// an epoch. So an epoch is used only once Postgres has recorded it as the newest (`EpochStore.claim`);
// when Postgres holds a newer one, the counter is moved past it and the lease takes the next epoch.

// The scripts are files in packages/queue/lua (lease-*.lua; see lua-scripts.ts).
const ACQUIRE = luaScript('lease-acquire');
const ADVANCE = luaScript('lease-advance');
const RENEW = luaScript('lease-renew');
const RELEASE = luaScript('lease-release');

interface LeaseCommands {
  bookingLeaseAcquire(lease: string, epoch: string, workerId: string, ttlMs: number): Promise<number>;
  bookingLeaseAdvance(lease: string, epoch: string, value: string, workerId: string, ttlMs: number, floor: number): Promise<number>;
  bookingLeaseRenew(lease: string, epoch: string, value: string, ttlMs: number, epochValue: number): Promise<number>;
  bookingLeaseRelease(lease: string, value: string): Promise<number>;
}

export interface Lease {
  eventId: string;
  epoch: number;
  /** The lease's value in Redis (`workerId|epoch`). */
  value: string;
}

/** Where the epochs of event leases are recorded durably: Postgres, which fences decisions by them. */
export interface EpochStore {
  /** Records `epoch` as the event's newest; returns undefined when done, else the newer epoch recorded. */
  claim(eventId: string, epoch: number): Promise<number | undefined>;
}

/** Claims tried before an acquisition gives up (each moves the counter past what Postgres holds). */
const MAX_CLAIMS = 3;

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
    /** Without one, epochs come from the Redis counter alone (for tools and tests of Redis only). */
    private readonly epochs?: EpochStore,
  ) {
    defineScripts(redis, {
      bookingLeaseAcquire: ACQUIRE,
      bookingLeaseAdvance: ADVANCE,
      bookingLeaseRenew: RENEW,
      bookingLeaseRelease: RELEASE,
    } satisfies Record<keyof LeaseCommands, LuaScript>);
    this.redis = redis as RedisClient & LeaseCommands;
  }

  /**
   * Takes the event's lease if nobody holds it; otherwise says how long the holder's lease has left.
   * The lease's epoch is newer than every epoch Postgres has recorded for the event, and recorded
   * there before this returns. Should recording fail, the lease is given back and the error thrown.
   */
  async acquire(eventId: string): Promise<{ lease: Lease } | { heldForMs: number }> {
    const k = leaseKeys(this.prefix, eventId);
    const epoch = Number(await this.redis.bookingLeaseAcquire(k.lease, k.epoch, this.workerId, this.ttlMs));
    if (epoch <= 0) return { heldForMs: -epoch };
    let lease: Lease = { eventId, epoch, value: `${this.workerId}|${epoch}` };
    if (!this.epochs) return { lease };
    try {
      for (let claims = 0; claims < MAX_CLAIMS; claims++) {
        const newer = await this.epochs.claim(eventId, lease.epoch);
        if (newer === undefined) return { lease };
        // Redis forgot epochs Postgres has seen: count on from Postgres's.
        const next = Number(await this.redis.bookingLeaseAdvance(k.lease, k.epoch, lease.value, this.workerId, this.ttlMs, newer));
        if (next <= 0) return { heldForMs: this.ttlMs };
        lease = { eventId, epoch: next, value: `${this.workerId}|${next}` };
      }
    } catch (err) {
      await this.release(lease).catch(() => {});
      throw err;
    }
    // Other workers kept claiming newer epochs meanwhile: someone else is taking the event.
    await this.release(lease);
    return { heldForMs: 0 };
  }

  /** Extends a lease; false when it is no longer ours. */
  async renew(lease: Lease): Promise<boolean> {
    const k = leaseKeys(this.prefix, lease.eventId);
    return (await this.redis.bookingLeaseRenew(k.lease, k.epoch, lease.value, this.ttlMs, lease.epoch)) === 1;
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
