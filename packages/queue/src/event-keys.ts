import { PURGE } from './event-keys.lua.ts';
import type { Lease } from './lease.ts';
import { defineScripts } from './lua-scripts.ts';
import { gateKeys, leaseKeys } from './names.ts';
import type { RedisClient } from './redis.ts';

interface EventKeyCommands {
  /** The number of keys first, as the key count varies. */
  bookingEventPurge(...args: string[]): Promise<number>;
}

/** Keys of an event's BullMQ queue (as of BullMQ 5) that hold its jobs, in the order PURGE expects. */
const QUEUE_LISTS = ['wait', 'active', 'paused', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'];
/** The rest of a queue's keys: counters, settings, the events stream, metrics, markers. */
const QUEUE_OTHERS = [
  'meta',
  'id',
  'events',
  'marker',
  'stalled',
  'stalled-check',
  'limiter',
  'pc',
  'delay',
  'repeat',
  'metrics:completed',
  'metrics:completed:data',
  'metrics:failed',
  'metrics:failed:data',
];

/** Where the sweep of ended sales stands: `salesEndAt|eventId` of the last event it handled. */
export function saleEndSweepKey(prefix: string): string {
  return `${prefix}:sale-ends-swept`;
}

/**
 * The Redis keys an event has apart from its idempotency records: the admission gate, the lease and
 * epoch counter, and the event's BullMQ queue. After the sale they are of no use: `purge` removes them
 * once nothing is left to do, so Redis holds nothing for events long over.
 */
export class EventKeys {
  private readonly redis: RedisClient & EventKeyCommands;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    defineScripts(redis, { bookingEventPurge: PURGE });
    this.redis = redis as RedisClient & EventKeyCommands;
  }

  /** Every such key of the event (they share its hash slot), the lease and the job lists first. */
  names(eventId: string): { lease: string; lists: string[]; others: string[]; jobPrefix: string } {
    const gate = gateKeys(this.prefix, eventId);
    const lease = leaseKeys(this.prefix, eventId);
    const base = gate.jobPrefix;
    return {
      lease: lease.lease,
      lists: QUEUE_LISTS.map((name) => base + name),
      others: [
        gate.gate,
        gate.held,
        gate.users,
        gate.returned,
        gate.pending,
        gate.seq,
        lease.epoch,
        ...QUEUE_OTHERS.map((name) => base + name),
      ],
      jobPrefix: base,
    };
  }

  /** Whether any of the event's keys (idempotency records aside) exists. */
  async exist(eventId: string): Promise<boolean> {
    const k = this.names(eventId);
    return (await this.redis.exists(k.lease, ...k.lists, ...k.others)) > 0;
  }

  /**
   * Deletes the event's keys, the lease with them, in one step, unless its queue holds work (then
   * `busy`, and nothing changes). Only for an event whose sale is over and whose requests are all
   * decided: gate records left then are orphans. `lease` must be the caller's, so no worker serves
   * the event meanwhile.
   */
  async purge(lease: Lease): Promise<'purged' | 'busy' | 'not-ours'> {
    const k = this.names(lease.eventId);
    const keys = [k.lease, ...k.lists, ...k.others];
    const result = Number(await this.redis.bookingEventPurge(String(keys.length), ...keys, lease.value, k.jobPrefix));
    return result === 1 ? 'purged' : result === 0 ? 'busy' : 'not-ours';
  }
}
