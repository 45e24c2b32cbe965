import { type Kysely, sql } from 'kysely';

// Frozen in time: this migration must never import application types.

// The workers' housekeeping goes through the events whose sale has ended, in order of the end, to
// remove what Redis still holds for them; without an index that is a scan of every event each round.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX events_sales_end_idx ON events (sales_end_at, id) WHERE sales_end_at IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX events_sales_end_idx`.execute(db);
}
