import { countUndecidedAccepted, type Db, findEventById, listSalesEnded, pruneDecidedAccepted, type SaleEndCursor } from '@booking/db';
import type { Logger } from '@booking/observability';
import { type EventKeys, type EventLeases, eventsChannel, type Lease, type RedisClient, saleEndSweepKey } from '@booking/queue';

/** Ended sales looked at per housekeeping round; the next round goes on from where this one stopped. */
const SALES_PER_ROUND = 200;

export interface SaleEndsOptions {
  db: Db;
  connection: RedisClient;
  prefix: string;
  keys: EventKeys;
  leases: EventLeases;
  /** How long after the end of its sale an event's keys are kept (ms): past every admission in flight. */
  graceMs: number;
  logger: Logger;
  /** Called once an event's keys are removed (to drop what the process remembers of it). */
  onPurged?: (eventId: string) => void;
}

export type PurgeOutcome = 'purged' | 'busy' | 'on-sale' | 'not-ours';

/**
 * Removes what Redis holds for events whose sale is over (their gate, lease, epoch counter and
 * queue), so that Redis does not grow with the events ever sold. An event's keys go once its sale
 * ended more than `graceMs` ago and nothing of it is left to decide: by the worker that served it,
 * when it lets the event go idle, and by the housekeeping for events whose sale ended since its last
 * round (in order of the end, remembered in Redis). Activity after the sale (a cancellation) brings
 * some keys back; they go again when the worker lets the event go.
 */
export class SaleEnds {
  constructor(private readonly opts: SaleEndsOptions) {}

  /** Removes the event's keys if its sale is over and everything accepted is decided; `lease` is the caller's. */
  async purgeIfOver(lease: Lease): Promise<PurgeOutcome> {
    const { db, keys, logger } = this.opts;
    const event = await findEventById(db, lease.eventId);
    if (!event?.sales_end_at || event.sales_end_at.getTime() > Date.now() - this.opts.graceMs) return 'on-sale';
    // Journalled and undecided: requests Redis lost, to be recovered before anything is removed.
    await pruneDecidedAccepted(db, lease.eventId);
    if ((await countUndecidedAccepted(db, lease.eventId, new Date())) > 0) return 'busy';
    const outcome = await keys.purge(lease);
    if (outcome === 'purged') {
      this.opts.onPurged?.(lease.eventId);
      logger.info('event keys removed after the end of its sale', { eventId: lease.eventId });
    }
    return outcome;
  }

  /** Housekeeping round: the events whose sale ended since the last round. */
  async run(): Promise<void> {
    const { db, connection, prefix, keys } = this.opts;
    const key = saleEndSweepKey(prefix);
    let cursor = parseCursor(await connection.get(key));
    const ended = await listSalesEnded(db, cursor, new Date(Date.now() - this.opts.graceMs), SALES_PER_ROUND);
    try {
      for (const event of ended) {
        if (await keys.exist(event.id)) await this.sweep(event.id);
        cursor = event;
      }
    } finally {
      // Up to the last event handled: one that failed (Redis or Postgres away) is looked at again.
      if (cursor) await connection.set(key, `${cursor.salesEndAt}|${cursor.id}`);
    }
  }

  private async sweep(eventId: string): Promise<void> {
    const { leases, connection, prefix } = this.opts;
    const answer = await leases.acquire(eventId);
    // Served: its worker removes the keys when it lets the event go.
    if ('heldForMs' in answer) return;
    let outcome: PurgeOutcome;
    try {
      outcome = await this.purgeIfOver(answer.lease);
    } catch (err) {
      await leases.release(answer.lease).catch(() => {});
      throw err;
    }
    if (outcome === 'purged') return;
    await leases.release(answer.lease);
    // Work left: a worker serves the event and removes its keys when it lets it go.
    if (outcome === 'busy' && (await leases.markReady(eventId))) await connection.publish(eventsChannel(prefix), eventId);
  }
}

function parseCursor(raw: string | null): SaleEndCursor | undefined {
  const sep = raw?.indexOf('|') ?? -1;
  if (!raw || sep < 0 || Number.isNaN(Date.parse(raw.slice(0, sep)))) return undefined;
  return { salesEndAt: raw.slice(0, sep), id: raw.slice(sep + 1) };
}
