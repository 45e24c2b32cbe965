import { type Db, listEventsWithOverdueHolds } from '@booking/db';
import type { Logger } from '@booking/observability';

/** Events with overdue holds looked at per round; the rest come in the next rounds, the most overdue first. */
const EVENTS_PER_ROUND = 200;

export interface HoldExpiryOptions {
  db: Db;
  logger: Logger;
  /** Queues an expiry job at the front of the event's queue and marks the event as having work. */
  queueExpiry: (eventId: string) => Promise<void>;
}

/**
 * Finds the events whose holds are due and queues their expiry, served or not. The due times live in
 * PostgreSQL (`bookings.expires_at`), so an expiry missed while no worker ran is found by the first
 * round of the next one; the expiry itself is decided in the event's queue (see holds.processor.ts).
 * Every worker runs this each second: the lookup goes by a partial index of the held bookings, and
 * one expiry job per event is pending at a time (its job id).
 */
export class HoldExpiry {
  constructor(private readonly opts: HoldExpiryOptions) {}

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
