import { type Db, countUndecidedAccepted, listServableEventIds, pruneDecidedAccepted } from '@booking/db';
import type { Logger } from '@booking/observability';
import {
  type AdmissionGate,
  type RecoverJobData,
  type RedisClient,
  eventQueueName,
  eventsChannel,
  gateKeys,
  recoverJobId,
} from '@booking/queue';
import { type Job, Queue, Worker } from 'bullmq';

export interface SupervisorOptions {
  db: Db;
  /** Shared connection for non-blocking commands; BullMQ duplicates it for each blocking one. */
  connection: RedisClient;
  /** Connection dedicated to the events channel subscription. */
  subscriber: RedisClient;
  prefix: string;
  logger: Logger;
  processor: (job: Job) => Promise<void>;
  gate: AdmissionGate;
  maxEvents: number;
  lockMs: number;
  refreshMs: number;
  /** Requests accepted just before a sale ends may still be queued: keep serving that long after. */
  endedGraceMs: number;
  /** How often to check that Redis still holds each event's gate (a missing one means lost state). */
  healthCheckMs?: number;
  /** How often to compare the journal of accepted requests with what the queue holds. */
  journalCheckMs?: number;
}

interface Served {
  queue: Queue;
  worker: Worker;
}

/**
 * Keeps one BullMQ worker (concurrency 1) per event on sale, up to `maxEvents`. Events are found in
 * Postgres at start and every `refreshMs`, and at once when the API announces a new one.
 */
export class EventSupervisor {
  private readonly served = new Map<string, Served>();
  private readonly starting = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private lastJournalCheck = 0;
  private closing = false;

  constructor(private readonly opts: SupervisorOptions) {}

  async start(): Promise<void> {
    const channel = eventsChannel(this.opts.prefix);
    this.opts.subscriber.on('message', (ch: string, eventId: string) => {
      if (ch === channel) void this.serve(eventId);
    });
    await this.opts.subscriber.subscribe(channel);
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs);
    this.timer.unref();
    this.healthTimer = setInterval(() => void this.checkHealth(), this.opts.healthCheckMs ?? 2_000);
    this.healthTimer.unref();
  }

  /**
   * Queues a recovery for each served event whose gate Redis no longer has (flushed or restarted
   * without persistence), and, less often, for each event whose journal of accepted requests holds more
   * old requests than its queue: Redis lost some. The recovery runs in the queue, in order.
   */
  private async checkHealth(): Promise<void> {
    if (this.closing) return;
    const journalDue = Date.now() - this.lastJournalCheck >= (this.opts.journalCheckMs ?? 10_000);
    if (journalDue) this.lastJournalCheck = Date.now();
    await Promise.all(
      [...this.served.entries()].map(async ([eventId, { queue }]) => {
        try {
          const keys = gateKeys(this.opts.prefix, eventId);
          let lost = (await this.opts.connection.hexists(keys.gate, 'avail')) === 0;
          if (!lost && journalDue) {
            const before = new Date(Date.now() - 5_000);
            let journalled = await countUndecidedAccepted(this.opts.db, eventId, before);
            if (journalled > 0 && (await pruneDecidedAccepted(this.opts.db, eventId)) > 0) {
              journalled = await countUndecidedAccepted(this.opts.db, eventId, before);
            }
            if (journalled > 0) lost = journalled > (await this.opts.gate.queuedRequestCount(eventId));
          }
          if (!lost) return;
          const data: RecoverJobData = { kind: 'recover', eventId };
          await queue.add('recover', data, { jobId: recoverJobId(eventId), removeOnComplete: true, removeOnFail: false });
        } catch (err) {
          this.opts.logger.warn('health check failed', { eventId, error: (err as Error).message });
        }
      }),
    );
  }

  /** Queue depth and seats left of each served event whose sale is on (for per-event gauges). */
  async onSaleSnapshot(): Promise<Array<{ eventId: string; queueDepth: number; seatsAvailable: number }>> {
    const ids = [...this.served.keys()];
    if (ids.length === 0) return [];
    const now = new Date();
    const rows = await this.opts.db
      .selectFrom('events')
      .select(['id', 'available'])
      .where('id', 'in', ids)
      .where((eb) => eb.or([eb('sales_end_at', 'is', null), eb('sales_end_at', '>', now)]))
      .where((eb) => eb.or([eb('sales_start_at', 'is', null), eb('sales_start_at', '<=', now)]))
      .execute();
    return Promise.all(
      rows.map(async (r) => {
        const keys = gateKeys(this.opts.prefix, r.id);
        const [waiting, active] = await Promise.all([this.opts.connection.llen(keys.wait), this.opts.connection.llen(keys.active)]);
        return { eventId: r.id, queueDepth: waiting + active, seatsAvailable: r.available };
      }),
    );
  }

  /** Ids of the events this process serves now. */
  get eventIds(): string[] {
    return [...this.served.keys()];
  }

  /** Re-reads the events on sale and serves any not yet served. */
  async refresh(): Promise<void> {
    if (this.closing) return;
    try {
      const ids = await listServableEventIds(this.opts.db, new Date(), this.opts.endedGraceMs);
      await Promise.all(ids.map((id) => this.serve(id)));
    } catch (err) {
      this.opts.logger.warn('could not refresh the events to serve', { error: (err as Error).message });
    }
  }

  /** Starts serving an event's queue (idempotent). */
  async serve(eventId: string): Promise<void> {
    if (this.closing || this.served.has(eventId)) return;
    if (this.served.size + this.starting.size >= this.opts.maxEvents) return;
    let pending = this.starting.get(eventId);
    if (!pending) {
      pending = this.open(eventId).finally(() => this.starting.delete(eventId));
      this.starting.set(eventId, pending);
    }
    await pending;
  }

  private async open(eventId: string): Promise<void> {
    const name = eventQueueName(eventId);
    const { connection, prefix, logger } = this.opts;
    const queue = new Queue(name, { connection, prefix });
    try {
      // One job at a time per event across every worker process.
      await queue.setGlobalConcurrency(1);
    } catch (err) {
      logger.warn('could not open event queue; will retry', { eventId, error: (err as Error).message });
      await queue.close().catch(() => {});
      return;
    }
    const worker = new Worker(name, this.opts.processor, {
      connection,
      prefix,
      concurrency: 1,
      lockDuration: this.opts.lockMs,
      stalledInterval: Math.max(500, Math.floor(this.opts.lockMs / 2)),
      // A job whose worker died is handed to another however often that happens: it is never dropped.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      drainDelay: 5,
    });
    worker.on('error', (err) => logger.warn('worker error', { eventId, error: err.message }));
    worker.on('failed', (job, err) => logger.error('job failed', { eventId, jobId: job?.id, error: err.message }));
    if (this.closing) {
      await Promise.allSettled([worker.close(true), queue.close()]);
      return;
    }
    this.served.set(eventId, { queue, worker });
    logger.debug('serving event', { eventId });
  }

  /**
   * Stops taking jobs and waits for the ones in progress up to `graceMs`; a job still running then is
   * abandoned and will be taken over by another worker once its lock expires.
   */
  async close(graceMs: number, onGraceExpired: () => void): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.allSettled(this.starting.values());
    const all = [...this.served.values()];
    this.served.clear();
    let timer: NodeJS.Timeout | undefined;
    const graceful = Promise.allSettled(all.map((s) => s.worker.close()));
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), graceMs);
    });
    if ((await Promise.race([graceful, expired])) === 'expired') {
      onGraceExpired();
      await Promise.allSettled(all.map((s) => s.worker.close(true)));
    }
    clearTimeout(timer);
    await Promise.allSettled(all.map((s) => s.queue.close()));
  }
}
