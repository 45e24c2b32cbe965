import { type Db, listEventsWithOverdueHolds } from '@booking/db';
import type { Logger } from '@booking/observability';

/** Events with overdue holds looked at per round; the rest come in the next rounds, the most overdue first. */
const EVENTS_PER_ROUND = 200;

export interface HoldExpiryOptions {
  db: Db;
  logger: Logger;
  /** Queues an expiry job at the front of the event's queue and marks the event as having work. */
  queueExpiry: (eventId: string) => Promise<void>;
  /** How often a look for overdue holds may start (ms; default 1,000). */
  intervalMs?: number | undefined;
}

/**
 * Finds the events whose holds are due and queues their expiry, served or not. The due times live in
 * PostgreSQL (`bookings.expires_at`), so an expiry missed while no worker ran is found by the first
 * round of the next one; the expiry itself is decided in the event's queue (see holds.processor.ts).
 * Every worker runs this each second: the lookup goes by a partial index of the held bookings, and
 * one expiry job per event is pending at a time (its job id).
 */
export class HoldExpiry {
  private lastStart = 0;
  /** The look in progress. */
  private running: Promise<void> | undefined;

  constructor(private readonly opts: HoldExpiryOptions) {}

  /**
   * Starts a look unless one runs or the last started less than an interval ago. Not awaited by the
   * supervisor's round: the lookup must not delay the renewals of the next round.
   */
  startIfDue(now: number): void {
    if (this.running || now - this.lastStart < (this.opts.intervalMs ?? 1_000)) return;
    this.lastStart = now;
    this.running = this.run()
      .catch((err: Error) => {
        this.opts.logger.warn('looking for overdue holds failed', { error: err.message });
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  /** The look in progress, if any (awaited at shutdown). */
  get inProgress(): Promise<void> | undefined {
    return this.running;
  }

  async run(): Promise<void> {
    const events = await listEventsWithOverdueHolds(this.opts.db, EVENTS_PER_ROUND);
    await Promise.all(
      events.map((eventId) =>
        this.opts
          .queueExpiry(eventId)
          .catch((err: Error) => this.opts.logger.warn('could not queue expiry', { eventId, error: err.message })),
      ),
    );
  }
}
