import type { Db } from '@booking/db';
import type { Logger } from '@booking/observability';
import { type AdmissionGate, type EventLeases, type GateOrphans, janitorKey, type RedisClient } from '@booking/queue';

import { JournalCheck } from './journal-check.ts';
import { OrphanSweep } from './orphan-sweep.ts';
import type { SaleEnds } from './sale-ends.ts';

export interface HousekeepingOptions {
  db: Db;
  connection: RedisClient;
  prefix: string;
  workerId: string;
  logger: Logger;
  gate: AdmissionGate;
  leases: EventLeases;
  /** How often one worker of all does the housekeeping (ms; default 10,000). */
  intervalMs?: number | undefined;
  /** Finding gate records no job carries: a pending record older than `afterMs` may be an orphan. */
  orphans?: { orphans: GateOrphans; afterMs: number } | undefined;
  /** Removing the Redis keys of events whose sale is over. */
  saleEnds?: SaleEnds | undefined;
  /** Queues a recovery in the event's queue (its worker decides what Redis lost). */
  recover: (eventId: string) => Promise<void>;
}

/**
 * Housekeeping by one worker at a time (the holder of a Redis lock that lapses after one interval):
 * what the journal has and the queue lost (JournalCheck), the events on sale whose gate records
 * requests nothing will settle (OrphanSweep), and the keys of sales that ended (SaleEnds).
 */
export class Housekeeping {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly journalCheck: JournalCheck;
  private readonly orphanSweep: OrphanSweep | undefined;

  constructor(private readonly opts: HousekeepingOptions) {
    this.journalCheck = new JournalCheck(opts);
    this.orphanSweep = opts.orphans && new OrphanSweep({ db: opts.db, logger: opts.logger, ...opts.orphans, recover: opts.recover });
  }

  private get intervalMs(): number {
    return this.opts.intervalMs ?? 10_000;
  }

  /** Runs a round now and then one every interval. */
  start(): void {
    this.timer = setInterval(() => void this.run(), this.intervalMs);
    this.timer.unref();
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** One round, if no other worker has done one within the interval; failures are logged. */
  async run(): Promise<void> {
    if (this.stopped) return;
    const { connection, prefix, logger, workerId } = this.opts;
    try {
      const mine = await connection.set(janitorKey(prefix), workerId, 'PX', this.intervalMs, 'NX');
      if (mine !== 'OK') return;
      await this.journalCheck.run();
      await this.orphanSweep?.run();
      await this.opts.saleEnds?.run();
    } catch (err) {
      logger.warn('housekeeping failed', { error: (err as Error).message });
    }
  }
}
