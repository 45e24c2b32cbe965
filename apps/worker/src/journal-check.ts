import { countUndecidedAccepted, type Db, pruneDecidedAccepted } from '@booking/db';
import type { Logger } from '@booking/observability';
import { type AdmissionGate, type EventLeases, eventsChannel, type RedisClient } from '@booking/queue';
import { sql } from 'kysely';

/** Journal rows younger than this may still have their job on its way to the queue. */
const SETTLE_MS = 5_000;

export interface JournalCheckOptions {
  db: Db;
  connection: RedisClient;
  prefix: string;
  logger: Logger;
  gate: AdmissionGate;
  leases: EventLeases;
  /** Queues a recovery in the event's queue (its worker decides what Redis lost). */
  recover: (eventId: string) => Promise<void>;
}

/**
 * Part of the housekeeping, driven by the journal's old undecided requests: recovers those no queued
 * job carries (Redis lost them), and marks ready an event whose queued work has no mark (an API that
 * died between adding a job and marking its event).
 */
export class JournalCheck {
  constructor(private readonly opts: JournalCheckOptions) {}

  async run(): Promise<void> {
    const { db, connection, prefix, logger, gate, leases } = this.opts;
    const before = new Date(Date.now() - SETTLE_MS);
    const { rows } = await sql<{ event_id: string }>`
      SELECT DISTINCT event_id FROM accepted_requests WHERE accepted_at < ${before} LIMIT 1000`.execute(db);
    for (const { event_id: eventId } of rows) {
      await pruneDecidedAccepted(db, eventId);
      const journalled = await countUndecidedAccepted(db, eventId, before);
      if (journalled === 0) continue;
      if (journalled > (await gate.queuedRequestCount(eventId))) {
        logger.warn('requests missing from the queue; recovering', { eventId, journalled });
        await this.opts.recover(eventId);
      } else if (await leases.markReady(eventId)) {
        // Queued work older than a few seconds and no ready mark: the API that queued it died
        // before marking the event.
        logger.warn('event had queued work but no ready mark', { eventId });
        await connection.publish(eventsChannel(prefix), eventId);
      }
    }
  }
}
