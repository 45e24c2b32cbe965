import { type AcceptedRequest, type Db, insertAcceptedRequests } from '@booking/db';
import type { Logger } from '@booking/observability';

/**
 * Writes accepted requests to Postgres behind the 202, in batches: the submission path never waits
 * for Postgres, yet a request survives Redis losing its queue (flush, restart without persistence),
 * because workers re-decide what the journal has and the queue lost. While Postgres is down, rows are
 * kept and retried (up to `maxBuffered`, then the oldest are dropped, loudly).
 */
export class AcceptedJournal {
  private buffer: AcceptedRequest[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly batchDelayMs = 5,
    private readonly maxBatch = 1000,
    private readonly maxBuffered = 200_000,
  ) {}

  /** Queues a row for the next batch. */
  add(row: AcceptedRequest): void {
    this.buffer.push(row);
    if (this.buffer.length > this.maxBuffered) {
      const dropped = this.buffer.splice(0, this.buffer.length - this.maxBuffered);
      this.logger.error('accepted-request journal overflow; oldest rows dropped', { dropped: dropped.length });
    }
    this.schedule(this.batchDelayMs);
  }

  /** Rows not yet written. */
  get backlog(): number {
    return this.buffer.length;
  }

  /** Writes everything buffered (for shutdown); gives up after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    clearTimeout(this.timer);
    this.timer = undefined;
    while ((this.buffer.length > 0 || this.flushing) && Date.now() < deadline) {
      await (this.flushing ?? this.flush());
    }
    if (this.buffer.length > 0) {
      this.logger.error('accepted-request journal not fully written at shutdown', { backlog: this.buffer.length });
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const batch = this.buffer.splice(0, this.maxBatch);
    if (batch.length === 0) return Promise.resolve();
    this.flushing = insertAcceptedRequests(this.db, batch)
      .then(() => {
        this.failures = 0;
      })
      .catch((err: Error) => {
        this.buffer.unshift(...batch);
        this.failures++;
        if (this.failures === 1 || this.failures % 100 === 0) {
          this.logger.warn('could not write accepted-request journal; retrying', { error: err.message, backlog: this.buffer.length });
        }
      })
      .finally(() => {
        this.flushing = undefined;
        if (this.buffer.length > 0) this.schedule(this.failures > 0 ? Math.min(100 * this.failures, 2_000) : 0);
      });
    return this.flushing;
  }
}
