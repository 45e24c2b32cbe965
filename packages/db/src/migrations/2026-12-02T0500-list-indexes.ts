import { type Kysely, sql } from 'kysely';

// Frozen in time: this migration must never import application types.

// The list routes page newest first by (created_at, id): events for everyone, bookings per user.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX events_created_idx ON events (created_at, id)`.execute(db);
  await sql`CREATE INDEX bookings_user_created_idx ON bookings (user_id, created_at, id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX bookings_user_created_idx`.execute(db);
  await sql`DROP INDEX events_created_idx`.execute(db);
}
