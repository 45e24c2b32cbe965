import { FORGET, STALE_UNQUEUED } from './gate-orphans.lua.ts';
import { defineScripts, type LuaScript } from './lua-scripts.ts';
import { gateKeys, leaseKeys } from './names.ts';
import type { RedisClient } from './redis.ts';

interface OrphanCommands {
  bookingGateStaleUnqueued(...args: (string | number)[]): Promise<string[]>;
  bookingGateForget(...args: (string | number)[]): Promise<number>;
}

/**
 * Finds the admission gate's records of requests that no queued job carries any more, and forgets
 * them. Whether such a record is an orphan (its request never queued, or decided without the gate
 * being settled) is for the caller to judge against Postgres; forgetting one only ever makes the gate
 * more generous, never stricter, until the worker rebuilds it.
 */
export class GateOrphans {
  private readonly redis: RedisClient & OrphanCommands;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    defineScripts(redis, { bookingGateStaleUnqueued: STALE_UNQUEUED, bookingGateForget: FORGET } satisfies Record<
      keyof OrphanCommands,
      LuaScript
    >);
    this.redis = redis as RedisClient & OrphanCommands;
  }

  /**
   * Ids of requests the gate records as pending, accepted before `acceptedBefore`, that no booking
   * job of the event's queue carries (of the `limit` oldest such records). With `unleasedOnly`, none
   * while a worker serves the event (its own housekeeping looks after it).
   */
  async staleUnqueued(eventId: string, acceptedBefore: Date, options: { limit: number; unleasedOnly?: boolean }): Promise<string[]> {
    const k = gateKeys(this.prefix, eventId);
    return this.redis.bookingGateStaleUnqueued(
      k.pending,
      k.wait,
      k.active,
      leaseKeys(this.prefix, eventId).lease,
      k.jobPrefix,
      acceptedBefore.toISOString(),
      options.limit,
      options.unleasedOnly ? '1' : '0',
    );
  }

  /** Forgets the pending records (and promised seats) of these requests, if accepted before `acceptedBefore`. */
  async forget(eventId: string, acceptedBefore: Date, requestIds: string[]): Promise<number> {
    if (requestIds.length === 0) return 0;
    const k = gateKeys(this.prefix, eventId);
    return Number(await this.redis.bookingGateForget(k.gate, k.held, k.users, k.pending, acceptedBefore.toISOString(), ...requestIds));
  }
}
