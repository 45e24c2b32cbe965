import { setTimeout as sleep } from 'node:timers/promises';

import { type BookingRequestInput, createDb, type Db, decideBookingBatch, type Decision } from '@booking/db';
import pg from 'pg';

import { databaseUrl, newTestDatabaseName, templateDatabase } from './env.ts';

const OBJECT_IN_USE = '55006';

export interface TestDatabase {
  name: string;
  url: string;
  db: Db;
  pool: pg.Pool;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** Runs `fn` with a connection to the test server's `postgres` database. */
export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database of its own (a copy of the run's template). */
export async function createTestDatabase(poolSize = 10): Promise<TestDatabase> {
  const name = newTestDatabaseName('db');
  const template = templateDatabase();
  await withAdmin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        return;
      } catch (err) {
        // Another file is copying the template at this moment.
        if ((err as { code?: string }).code !== OBJECT_IN_USE || attempt > 50) throw err;
        await sleep(50 + Math.random() * 100);
      }
    }
  });
  const url = databaseUrl(name);
  const { db, pool } = createDb({ url, poolSize, applicationName: 'booking-test' });
  let dropped = false;
  return {
    name,
    url,
    db,
    pool,
    async drop() {
      if (dropped) return;
      dropped = true;
      await db.destroy();
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** Decides one booking request in a transaction of its own (a batch of one), as a worker would. */
export async function decideOne(db: Db, input: BookingRequestInput): Promise<Decision> {
  const { eventId, ...request } = input;
  const decisions = await decideBookingBatch(db, eventId, [request]);
  return decisions.get(input.requestId)!;
}
