import { type AcceptedRequest, type Db, insertAcceptedRequests, isPermanentDataError } from '@booking/db';
import type { Logger } from '@booking/observability';

/**
 * Writes accepted requests to Postgres behind the 202, in batches: the submission path never waits
 * for Postgres, yet a request survives Redis losing its queue (flush, restart without persistence),
 * because workers re-decide what the journal has and the queue lost. While Postgres is down, rows are
 * kept and retried (up to `maxBuffered`, then the oldest are dropped, loudly). A batch Postgres
 * refuses for what it holds is split in halves until the rows it refuses are alone; those are set
 * aside (logged at error) and the rest is written, so one poison row cannot hold up the journal.
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
    this.flushing = this.write(batch)
      .then(() => {
        this.failures = 0;
      })
      .catch((err: Error) => {
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

  /**
   * Writes `batch`, halving any part Postgres refuses for its rows until each refused row is alone
   * and can be set aside (a batch of n rows with one poison row costs about 2·log2(n) statements).
   * On any other failure (Postgres unreachable, say) the rows not yet written go back to the head of
   * the buffer, in order, and the error is rethrown so that they are retried later.
   */
  private async write(batch: AcceptedRequest[]): Promise<void> {
    const parts = [batch];
    for (let part = parts.shift(); part; part = parts.shift()) {
      try {
        await insertAcceptedRequests(this.db, part);
      } catch (err) {
        if (!isPermanentDataError(err)) {
          this.buffer.unshift(...part, ...parts.flat());
          throw err;
        }
        if (part.length === 1) {
          this.setAsideRow(part[0]!, err as Error);
        } else {
          const half = Math.ceil(part.length / 2);
          parts.unshift(part.slice(0, half), part.slice(half));
        }
      }
    }
  }

  private setAsideRow(row: AcceptedRequest, err: Error): void {
    // The request was answered 202 but its journal row cannot exist: should Redis lose its job too,
    // nothing would decide it. Log what is needed to find it.
    this.logger.error('accepted-request journal row refused by the database; set aside', {
      requestId: row.id,
      eventId: row.eventId,
      code: (err as { code?: unknown }).code,
      error: err.message,
    });
  }
}
