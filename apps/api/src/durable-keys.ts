import { type Db, findRequestsByIdempotencyKeys } from '@booking/db';

import { gathered } from './gathered.ts';

/** How long lookups gather before they go to PostgreSQL as one query per event. */
const BATCH_MS = 2;

export type DurableRequest = { id: string; userId: string; quantity: number };

/**
 * The requests PostgreSQL holds for Idempotency-Keys that Redis does not know. Every first use of a
 * key asks (Redis may have lost its data since that key's first request), so in a sale's burst of
 * keyed submissions these lookups were one query each and used up the API's pool (a holds sale of
 * 10,000 users: about 18,000 answers 503 "timeout exceeded when trying to connect" on the booking
 * route). They are gathered for a couple of milliseconds and asked together, one query per event.
 */
export class DurableKeys {
  private readonly lookup: (key: string) => Promise<DurableRequest | undefined>;

  constructor(db: Db) {
    this.lookup = gathered(BATCH_MS, async (keys) => {
      const byEvent = new Map<string, string[]>();
      for (const key of keys) {
        const [eventId, keyHash] = split(key);
        byEvent.set(eventId, [...(byEvent.get(eventId) ?? []), keyHash]);
      }
      const found = new Map<string, DurableRequest>();
      await Promise.all(
        [...byEvent].map(async ([eventId, hashes]) => {
          for (const [keyHash, request] of await findRequestsByIdempotencyKeys(db, eventId, hashes))
            found.set(`${eventId}\n${keyHash}`, request);
        }),
      );
      return found;
    });
  }

  find(eventId: string, keyHash: string): Promise<DurableRequest | undefined> {
    return this.lookup(`${eventId}\n${keyHash}`);
  }
}

function split(key: string): [string, string] {
  const at = key.indexOf('\n');
  return [key.slice(0, at), key.slice(at + 1)];
}
