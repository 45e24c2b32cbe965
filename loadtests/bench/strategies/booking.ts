// The three ways of booking a seat synchronously that the pipeline is compared with. Each takes one
// connection from the pool for the whole attempt, as an ORM's session would, and answers at once:
// the decision is the HTTP answer.
import type pg from 'pg';

export type StrategyName = 'conditional-update' | 'optimistic' | 'pessimistic';

export type Outcome =
  | { kind: 'confirmed'; bookingId: string }
  | { kind: 'sold-out' }
  | { kind: 'not-found' }
  /** Optimistic locking only: every attempt met a version changed since it was read. */
  | { kind: 'retries-exhausted' };

/** Optimistic locking: retries after a version conflict (so at most 1 + 3 attempts). */
export const OPTIMISTIC_RETRIES = 3;

async function inTransaction<T>(client: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

const insertBooking = 'INSERT INTO bench_bookings (event_id, user_id, quantity) VALUES ($1, $2, $3) RETURNING id::text';

/**
 * (2) What most teams would write: one conditional UPDATE that takes the seats only if enough are
 * left, and the booking row, in one transaction.
 */
async function conditionalUpdate(client: pg.PoolClient, eventId: string, userId: string, quantity: number): Promise<Outcome> {
  await client.query('BEGIN');
  try {
    const taken = await client.query('UPDATE bench_events SET available = available - $2 WHERE id = $1 AND available >= $2', [
      eventId,
      quantity,
    ]);
    if (taken.rowCount === 0) {
      // The server checked that the event exists: no row updated means too few seats left.
      await client.query('ROLLBACK');
      return { kind: 'sold-out' };
    }
    const { rows } = await client.query<{ id: string }>(insertBooking, [eventId, userId, quantity]);
    await client.query('COMMIT');
    return { kind: 'confirmed', bookingId: rows[0]!.id };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/**
 * (3) The predecessor's strategy: read the count with its version, write `available - n` only if the
 * version is unchanged, retry on a conflict (at once, as its retry loop did), give up after
 * OPTIMISTIC_RETRIES retries.
 */
async function optimistic(client: pg.PoolClient, eventId: string, userId: string, quantity: number): Promise<Outcome> {
  for (let attempt = 0; attempt <= OPTIMISTIC_RETRIES; attempt++) {
    const { rows } = await client.query<{ available: number; version: number }>(
      'SELECT available, version FROM bench_events WHERE id = $1',
      [eventId],
    );
    const event = rows[0];
    if (!event) return { kind: 'not-found' };
    if (event.available < quantity) return { kind: 'sold-out' };
    const outcome = await inTransaction(client, async (): Promise<Outcome | undefined> => {
      const updated = await client.query(
        'UPDATE bench_events SET available = available - $2, version = version + 1 WHERE id = $1 AND version = $3',
        [eventId, quantity, event.version],
      );
      if (updated.rowCount === 0) return undefined;
      const booking = await client.query<{ id: string }>(insertBooking, [eventId, userId, quantity]);
      return { kind: 'confirmed', bookingId: booking.rows[0]!.id };
    });
    if (outcome) return outcome;
  }
  return { kind: 'retries-exhausted' };
}

/** (4) Pessimistic locking: lock the event row with SELECT ... FOR UPDATE, check, write, commit. */
async function pessimistic(client: pg.PoolClient, eventId: string, userId: string, quantity: number): Promise<Outcome> {
  return inTransaction(client, async () => {
    const { rows } = await client.query<{ available: number }>('SELECT available FROM bench_events WHERE id = $1 FOR UPDATE', [eventId]);
    const event = rows[0];
    if (!event) return { kind: 'not-found' };
    if (event.available < quantity) return { kind: 'sold-out' };
    await client.query('UPDATE bench_events SET available = available - $2 WHERE id = $1', [eventId, quantity]);
    const booking = await client.query<{ id: string }>(insertBooking, [eventId, userId, quantity]);
    return { kind: 'confirmed', bookingId: booking.rows[0]!.id };
  });
}

export const strategies: Record<
  StrategyName,
  (client: pg.PoolClient, eventId: string, userId: string, quantity: number) => Promise<Outcome>
> = {
  'conditional-update': conditionalUpdate,
  optimistic,
  pessimistic,
};
