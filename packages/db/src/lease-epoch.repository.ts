import { sql } from 'kysely';

import type { Db } from './connection.ts';

/**
 * Records `epoch` as the newest lease epoch of the event, unless an epoch as new or newer is recorded
 * already (then another acquisition used it, or Redis handed it out before it forgot its counter).
 * Returns undefined when recorded (or when the event does not exist: nothing to fence), else the
 * epoch Postgres holds. Concurrent claims of one epoch: exactly one is recorded.
 */
export async function claimLeaseEpoch(db: Db, eventId: string, epoch: number): Promise<number | undefined> {
  const claimed = await sql<{ id: string }>`
    UPDATE events SET lease_epoch = ${epoch} WHERE id = ${eventId} AND lease_epoch < ${epoch} RETURNING id`.execute(db);
  if (claimed.rows.length > 0) return undefined;
  // A statement of its own, so it sees the claim that beat ours.
  const stored = await sql<{ lease_epoch: string }>`SELECT lease_epoch FROM events WHERE id = ${eventId}`.execute(db);
  const row = stored.rows[0];
  return row ? Number(row.lease_epoch) : undefined;
}
