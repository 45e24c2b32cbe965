import { type Db, listEventIdsOnSale } from '@booking/db';
import type { Logger } from '@booking/observability';
import type { GateOrphans } from '@booking/queue';

/** Events looked at per housekeeping round; the next round goes on from where this one stopped. */
const EVENTS_PER_ROUND = 1_000;
/** Events looked at concurrently (one small Redis script each). */
const CONCURRENCY = 25;

export interface OrphanSweepOptions {
  db: Db;
  orphans: GateOrphans;
  /** A pending record older than this whose request is not queued may be an orphan (ms). */
  afterMs: number;
  logger: Logger;
  /** Queues a recovery in the event's queue: its worker then forgets the orphans and rebuilds the gate. */
  recover: (eventId: string) => Promise<void>;
}

/**
 * Part of the housekeeping: finds events on sale, served by no worker, whose admission gate still
 * records requests that no queued job carries and that are older than `afterMs` (an API died between
 * admitting them and queueing their job, or a settlement failed), and has each recovered in its own
 * queue, where the worker forgets those records and rebuilds the gate (see GateKeeper). Served events
 * are left to their worker, which does the same before each rebuild.
 */
export class OrphanSweep {
  private cursor: string | undefined;

  constructor(private readonly opts: OrphanSweepOptions) {}

  async run(): Promise<void> {
    const { db, orphans, logger } = this.opts;
    const ids = await listEventIdsOnSale(db, new Date(), this.cursor, EVENTS_PER_ROUND);
    this.cursor = ids.length < EVENTS_PER_ROUND ? undefined : ids.at(-1);
    const before = new Date(Date.now() - this.opts.afterMs);
    for (let i = 0; i < ids.length; i += CONCURRENCY) {
      await Promise.all(
        ids.slice(i, i + CONCURRENCY).map(async (eventId) => {
          const stale = await orphans.staleUnqueued(eventId, before, { limit: 1, unleasedOnly: true });
          if (stale.length === 0) return;
          logger.warn('admission gate records requests no job carries; recovering', { eventId });
          await this.opts.recover(eventId);
        }),
      );
    }
  }
}
